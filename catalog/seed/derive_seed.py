"""Derive the murakkab catalog seed CSVs from published numbers (copied here with provenance).

Run from anywhere: python catalog/seed/derive_seed.py [output_dir]   (default: this folder)
It rewrites interfaces, interface_knobs, agents, hardware, clusters, profiles and
statistics .csv; templates.job and SOURCES.md are written by hand. Every derived number
is computed below from the published inputs (copied here; the project never reads the
reference data at run time) and its formula is written into the row's `source` column.
"""
import csv, io, math, sys, os

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------- references (short tags; full refs in SOURCES.md)
R_FW_OLD = "faster-whisper README @00cc7e1 (V100S / Xeon Gold 6226R tables)"
R_FW_NEW = "faster-whisper README @65882ee (RTX 3070 Ti / i7-12700K tables)"
R_OSDI = "OSDI'26 Murakkab Fig.3 P90 curves as digitized by OneLastBeer1337/Murrakub_Mock (figures_digitized.py)"
R_OSDI_ACC = "OSDI'26 Murakkab Fig.2a/2c/4b accuracy as digitized by OneLastBeer1337/Murrakub_Mock"
R_OSDI_TOK = "OSDI'26 Murakkab token-per-request figures as digitized by OneLastBeer1337/Murrakub_Mock"
R_LAMBDA_A100 = "LambdaLabsML/vllm-benchmark prompt_10/1xA100-80GB-SXM Meta-Llama-3-8B-Instruct_tp1"
R_LAMBDA_H100 = "LambdaLabsML/vllm-benchmark prompt_10/1xH100-80GB-SXM Meta-Llama-3-8B-Instruct_tp1"
R_MLE = "ML.ENERGY leaderboard v3.0 @0cd52da (lm-arena-chat; vLLM BF16)"
R_META31 = "meta-llama/llama-models llama3_1 MODEL_CARD @a9c89c4"
R_PYAV = "PyAV-Org/PyAV PR #331 comment 2020-08-26 (PyAV CPU 92 fps, T4 NVDEC 209-407 fps)"
R_PSD = "Breakthrough/PySceneDetect benchmark/README.md @f196a31 (BBC table)"
R_TNV2 = "soCzech/TransNetV2 README (F1 table)"
R_OPENCLIP = "mlfoundations/open_clip docs/openclip_results.csv @f862f86 (ImageNet-1k zero-shot)"
R_FT = "NVIDIA/FasterTransformer docs/vit_guide.md"
R_FASTCLIP = "wanliAlex/fast-clip-research README (T4 ViT-L/14 fp16 22 ms)"
R_GREENSKU = "Azure/AzurePublicDataset GreenSKU-Framework CPU.yaml spec_derates"

# ---------------------------------------------------------------- published inputs
VIDEO_FPS = 30.0                      # statistics.video_fps
PYAV_CPU_FPS = 92.0                   # PyAV software decode, 1080p H.264, Colab (2 vCPU = 1 physical core)
NVDEC_T4_FPS = (209 + 407) / 2        # T4 NVDEC incl. copy to host (range midpoint)
PSD_ELAPSED = {"content": 28.20, "adaptive": 27.84, "hist": 15.13}   # PySceneDetect BBC benchmark, s
TNV2_FPS = 250.0                      # TransNetV2 network throughput on one GPU (paper, via secondary summary)

SERIAL = 0.05                         # Amdahl serial fraction assumed for splitting one CPU call over n cores
def S(n): return n / (1 + SERIAL * (n - 1))
# GreenSKU power fraction vs utilisation (read): (util, fraction)
DERATE = [(0.1, 0.20), (0.3, 0.36), (0.5, 0.53), (0.7, 0.70), (1.0, 0.95)]
def derate(u):
    for (u0, f0), (u1, f1) in zip(DERATE, DERATE[1:]):
        if u0 <= u <= u1:
            return f0 + (u - u0) / (u1 - u0) * (f1 - f0)
    return DERATE[-1][1]
def cpu_util(n): return round(derate(S(n) / n), 3)

# LLM curves (TTFT, TPOT) at low load, seconds
A100_H100_TPOT = 12.01 / 7.56          # Llama-3-8B single-GPU TPOT ratio (LambdaLabs)
A100_H100_TTFT = 126.7 / 62.2
PHI4_A100 = (0.75 / 0.41, 0.025 / 0.015)   # (TTFT, TPOT) ratio TP1/TP2 on A100 (OSDI digitized Phi-4)
PHI4_H100 = (0.27 / 0.17, 0.014 / 0.0089)  # same on H100
NVLM_A100 = (1.0 / 0.58, 0.041 / 0.024)    # TP4/TP8 on A100 (OSDI digitized NVLM-D-72B)
NVLM_H100 = (0.37 / 0.24, 0.022 / 0.0136)  # TP4/TP8 on H100

def r(x, d=4): return round(x, d)

# ---------------------------------------------------------------- interfaces
interfaces = [
 ("scene_detection",
  "Split a video into scenes (camera shots) at content cuts; each scene is a clip of the source video with its own duration and fps.",
  "video VIDEO", "LIST<SCENE>", "max(1, duration_s / scene_length_s)", "duration_s = min(duration_s, scene_length_s); fps = fps", True,
  "identify the scenes in each video | split the video into scenes | detect scene changes and shot boundaries | find the cuts between shots | segment each video into scenes or shots | scene detection"),
 ("frame_extraction",
  "Decode a scene (video clip) and sample a fixed number of still frames from it (knob frames_per_scene).",
  "scene VIDEO", "LIST<IMAGE>", "frames_per_scene", "", True,
  "extract frames from the scenes | extract video frames | sample key frames from the video clips | pull still frames out of each shot | take snapshots of the video | frame extraction"),
 ("audio_extraction",
  "Demux and decode the audio track of a video into mono speech audio of the same duration.",
  "video VIDEO", "AUDIO", "1", "duration_s = duration_s", True,
  "extract the audio from the video | pull out the soundtrack | separate the sound track from each clip | get the audio track | convert video to audio"),
 ("speech_to_text",
  "Transcribe the speech in an audio or video item (automatic speech recognition) into text.",
  "audio MEDIA", "TEXT", "1", "tokens = duration_s * speech_tokens_per_s", True,
  "transcribe the speech | convert the audio to text | write down what is said | generate a transcript or subtitles of the dialogue | recognise the spoken words | speech recognition"),
 ("frame_summarization",
  "Describe what a single image or video frame shows, in a short caption written by a vision-language model.",
  "frame IMAGE", "TEXT", "1", "tokens = caption_tokens", True,
  "describe each frame | caption the frames and images | summarize what is shown in each picture | explain what the frame shows | write a description of every image | visual description of the video frames"),
 ("object_detection",
  "Detect or tag the objects and people visible in an image or video frame; returns a list of object labels as text.",
  "frame IMAGE", "TEXT", "1", "", True,
  "detect the objects in each frame | list the objects shown in the images | identify people and things in the picture | tag what objects appear in every frame | recognise objects in the video frames | object detection"),
 ("question_answering",
  "Answer a natural-language question from the given context items (captions, transcripts, documents or other answers).",
  "question TEXT; context ANY...", "TEXT", "1", "", False,
  "answer the question | answer a question about the videos | respond to the user's question using the context | find the answer in the transcript and captions | question answering"),
 ("document_chunking",
  "Split a long document into consecutive chunks of about chunk_tokens tokens.",
  "document DOCUMENT", "LIST<CHUNK>", "max(1, tokens / (chunk_tokens * chunk_fill))", "tokens = min(tokens, chunk_tokens * chunk_fill)", True,
  "split the document into chunks | break the text into passages | divide each long document into sections | chunk the documents | segment the text into pieces"),
 ("summarization",
  "Summarize one text (a document chunk, a transcript) into a summary of about summary_tokens tokens.",
  "text TEXT", "TEXT", "1", "tokens = summary_tokens", True,
  "summarize the text | write a short summary of each chunk | condense the passage | give the key points of each document | summarise the transcript"),
 ("summary_reduction",
  "Merge a list of partial texts (chunk summaries, per-frame object tags, transcript pieces) into one consolidated, de-duplicated text.",
  "parts LIST<TEXT>", "TEXT", "1", "tokens = summary_tokens", False,
  "combine the partial summaries into one | merge the summaries into a final summary | reduce many summaries to one | consolidate the notes into an overall summary | merge and deduplicate the lists"),
 ("code_generation",
  "Write a program that solves a programming problem, in the style of a given coder persona.",
  "problem TEXT; persona TEXT", "CODE", "1", "", True,
  "write code to solve the problem | generate a program | implement a function for the task | draft a solution in Python | code generation"),
 ("debate_round",
  "One debate round: a coder revises its draft program after reading the other coders' drafts.",
  "draft CODE; peers LIST<CODE>", "CODE", "1", "", True,
  "revise the draft after reading the other solutions | debate the candidate programs and improve the code | critique the peers' code and refine the solution | multi-agent debate round"),
 ("test_generation",
  "Write unit tests (assertions) for a programming problem.",
  "problem TEXT", "CODE", "1", "", True,
  "write unit tests for the problem | generate test cases | create assertions that check a solution | write tests"),
 ("test_execution",
  "Run the given tests against a program in a sandbox and report which pass and fail.",
  "code CODE; tests CODE", "TEXT", "1", "", True,
  "run the tests against the code | execute the unit tests | check whether the program passes the tests | evaluate the code by running it"),
 ("ranking",
  "Pick the best candidate program, using the candidates' test results.",
  "candidates LIST<CODE>; results LIST<TEXT>", "CODE", "1", "", False,
  "pick the best solution | rank the candidate programs | choose the code that passes the most tests | select the winning candidate"),
]

# (interface, knob, default, domain, description, effect): effect is what the value does
# (migration 0008): value (agents read it), optional, repeat or limit (the plan's shape).
knobs = [
 ("frame_extraction", "frames_per_scene", 5, "1|5|10",
  "frames sampled per scene (the OSDI'26 Murakkab video Q/A study varies F1/F5/F10)", "value"),
 ("document_chunking", "chunk_tokens", 1024, "128|256|512|1024|2048|4096|8192",
  "tokens per chunk (statistics.chunk_tokens, a common map-reduce chunk size); smaller = more, shorter chunks to summarize",
  "value"),
 ("scene_detection", "threshold", 27, "15|27|40",
  "content-detector threshold on the HSV frame difference (PySceneDetect ContentDetector default 27); lower = more, shorter scenes",
  "value"),
 ("speech_to_text", "enabled", 1, "0|1",
  "1 runs the step, 0 leaves it out (its output empty): the OSDI'26 video Q/A study measures STT=Y and STT=N",
  "optional"),
 ("debate_round", "rounds", 2, "2|4",
  "debate rounds run in a chain, each revising the previous round's drafts (the OSDI'26 code-gen study measures R2 and R4)",
  "repeat"),
 ("code_generation", "debaters", 4, "2|4",
  "coders drafting, the first ones of the personas the step maps over (the OSDI'26 code-gen study measures D2 and D4)",
  "limit"),
]

# ---------------------------------------------------------------- agents
# (name, interface, kind, model, description, quality, quality_source, baseline)
Q70_MMLU, Q8_MMLU = 0.836, 0.694
Q70_HE, Q8_HE = 0.805, 0.726
agents = [
 ("pyscenedetect-content", "scene_detection", "tool", "PySceneDetect ContentDetector (OpenCV, CPU)",
  "HSV frame-difference cut detector; the default detector of PySceneDetect", 0.8669,
  f"published:{R_PSD}: F1 86.69 on BBC", True),
 ("pyscenedetect-adaptive", "scene_detection", "tool", "PySceneDetect AdaptiveDetector (OpenCV, CPU)",
  "content detector with a rolling-average adaptive threshold (fewer false cuts on camera motion)", 0.9159,
  f"published:{R_PSD}: F1 91.59 on BBC", False),
 ("pyscenedetect-histogram", "scene_detection", "tool", "PySceneDetect HistogramDetector (OpenCV, CPU)",
  "colour-histogram difference cut detector; cheapest per frame, least precise", 0.7996,
  f"published:{R_PSD}: F1 79.96 on BBC", False),
 ("transnetv2", "scene_detection", "model", "TransNetV2 (GPU)",
  "3D-CNN shot-transition detector on 48x27 frames (decoded with NVDEC)", 0.962,
  f"published:{R_TNV2}: F1 96.2 on BBC Planet Earth", False),

 ("pyav-decode", "frame_extraction", "tool", "PyAV / OpenCV (FFmpeg libavcodec) software decode, CPU",
  "decodes the scene on CPU cores and keeps frames_per_scene evenly spaced frames", 1.0,
  "default:frame sampling is deterministic; every decoder returns the same frames", True),
 ("nvdec-decode", "frame_extraction", "tool", "NVIDIA NVDEC hardware decode (GPU video engine)",
  "decodes the scene on the GPU's video decoder and copies the sampled frames to host", 1.0,
  "default:frame sampling is deterministic; every decoder returns the same frames", False),

 ("ffmpeg-audio", "audio_extraction", "tool", "FFmpeg demux + decode + resample to 16 kHz mono, CPU",
  "extracts the audio track of a video", 1.0, "default:deterministic demux/resample", True),

 ("whisper-large-v2", "speech_to_text", "model", "faster-whisper large-v2 (CTranslate2, fp16, beam 5, GPU)",
  "OpenAI Whisper large-v2 served by faster-whisper on one GPU", r(1 - 0.0631),
  "derived:1 - WER; LibriSpeech test-other WER 6.31% (independent runs, Phonetics and Speech Sciences 15(3):75 Table 4)", True),
 ("whisper-small-cpu", "speech_to_text", "model", "faster-whisper small (CTranslate2, int8, beam 5, CPU)",
  "OpenAI Whisper small served by faster-whisper int8 on CPU cores", r(1 - (11.95 - (11.95 - 6.74) * (math.log(244 / 74) / math.log(769 / 74))) / 100),
  "derived:1 - WER; test-other WER 9.29% interpolated on log(params) between whisper-base 11.95% (74M) and whisper-medium 6.74% (769M), independent runs in Phonetics and Speech Sciences 15(3):75 Table 4", False),
 ("pocketsphinx", "speech_to_text", "tool", "CMU PocketSphinx (GMM-HMM, en-us generic model, CPU)",
  "classic lightweight recogniser; fast on one core, much less accurate", 0.70,
  "default:no WER in the reference data; assumed ~30% WER on read English speech for a GMM-HMM recogniser with a generic LM", False),

 ("nvlm-d-72b-captioner", "frame_summarization", "model", "NVLM-D-72B (vLLM, BF16, GPU)",
  "NVIDIA NVLM-D 72B vision-language model describing one frame", 0.617,
  f"derived:VideoMME accuracy 61.7% of the video Q/A workflow with this VLM (F5, speech on), {R_OSDI_ACC}", True),
 ("gemma-3-27b-captioner", "frame_summarization", "model", "Gemma-3-27B-it (vLLM, BF16, GPU)",
  "Google Gemma 3 27B multimodal model describing one frame", 0.647,
  f"derived:VideoMME accuracy 64.7% of the video Q/A workflow with this VLM (F5, speech on), {R_OSDI_ACC}", False),
 ("qwen3-vl-8b-captioner", "frame_summarization", "model", "Qwen3-VL-8B-Instruct (vLLM, BF16, GPU)",
  "small (8B) vision-language model describing one frame", 0.572,
  f"default:no VideoMME number for Qwen3-VL-8B in the reference data; uses the 7B-class VLM in the OSDI study (Llava-OneVision-7B, F5, speech on: 57.2%, {R_OSDI_ACC}) as a proxy", False),

 ("opencv-hog", "object_detection", "tool", "OpenCV HOG people detector + Haar face cascade, CPU",
  "classic detectors: finds people and faces only, returns labels and counts", 0.30,
  "default:no published open-vocabulary accuracy; detects 2 of the many object classes a caller may ask about", False),
 ("clip-vit-b16-tagger", "object_detection", "model", "OpenAI CLIP ViT-B/16 zero-shot tagger (fp16, GPU)",
  "scores the frame against a fixed label vocabulary and returns the top labels", 0.6834,
  f"published:{R_OPENCLIP}: ViT-B-16 openai ImageNet-1k zero-shot top-1 68.34%", False),
 ("clip-vit-l14-tagger", "object_detection", "model", "OpenAI CLIP ViT-L/14 zero-shot tagger (fp16, GPU)",
  "scores the frame against a fixed label vocabulary and returns the top labels", 0.7554,
  f"published:{R_OPENCLIP}: ViT-L-14 openai ImageNet-1k zero-shot top-1 75.54%", True),

 ("llama-3.1-70b-qa", "question_answering", "model", "Llama-3.1-70B-Instruct (vLLM, BF16, GPU)",
  "answers the question from the supplied context", Q70_MMLU, f"published:{R_META31}: MMLU 5-shot 83.6%", True),
 ("llama-3.1-8b-qa", "question_answering", "model", "Llama-3.1-8B-Instruct (vLLM, BF16, GPU)",
  "answers the question from the supplied context", Q8_MMLU, f"published:{R_META31}: MMLU 5-shot 69.4%", False),
 ("bm25-extractive-qa", "question_answering", "tool", "BM25 sentence extractor (CPU)",
  "returns the context sentence with the highest BM25 overlap with the question; no generation", 0.30,
  "default:no published number; extractive answers only work when the answer is stated verbatim in the context", False),

 ("token-chunker", "document_chunking", "tool", "tokenizer-based fixed-size splitter (CPU)",
  "tokenizes the document and cuts it into chunk_tokens-token windows at sentence boundaries", 1.0,
  "default:deterministic splitting", True),

 ("llama-3.1-70b-summarizer", "summarization", "model", "Llama-3.1-70B-Instruct (vLLM, BF16, GPU)",
  "abstractive summary of one text", Q70_MMLU, f"derived:MMLU 5-shot 83.6% ({R_META31}) as a general-capability proxy; no summarization score in the reference data", True),
 ("llama-3.1-8b-summarizer", "summarization", "model", "Llama-3.1-8B-Instruct (vLLM, BF16, GPU)",
  "abstractive summary of one text", Q8_MMLU, f"derived:MMLU 5-shot 69.4% ({R_META31}) as a general-capability proxy; no summarization score in the reference data", False),
 ("llama-3.1-70b-reducer", "summary_reduction", "model", "Llama-3.1-70B-Instruct (vLLM, BF16, GPU)",
  "merges partial summaries or lists into one text", Q70_MMLU, f"derived:MMLU 5-shot 83.6% ({R_META31}) as a general-capability proxy", True),
 ("llama-3.1-8b-reducer", "summary_reduction", "model", "Llama-3.1-8B-Instruct (vLLM, BF16, GPU)",
  "merges partial summaries or lists into one text", Q8_MMLU, f"derived:MMLU 5-shot 69.4% ({R_META31}) as a general-capability proxy", False),

 ("llama-3.1-70b-coder", "code_generation", "model", "Llama-3.1-70B-Instruct (vLLM, BF16, GPU)",
  "writes a first draft solution in the given persona", Q70_HE, f"published:{R_META31}: HumanEval 0-shot 80.5%", True),
 ("llama-3.1-8b-coder", "code_generation", "model", "Llama-3.1-8B-Instruct (vLLM, BF16, GPU)",
  "writes a first draft solution in the given persona", Q8_HE, f"published:{R_META31}: HumanEval 0-shot 72.6%", False),
 ("llama-3.1-70b-debater", "debate_round", "model", "Llama-3.1-70B-Instruct (vLLM, BF16, GPU)",
  "revises its draft after reading the peers' drafts", Q70_HE, f"derived:HumanEval 0-shot 80.5% ({R_META31}) of the underlying model", True),
 ("llama-3.1-8b-debater", "debate_round", "model", "Llama-3.1-8B-Instruct (vLLM, BF16, GPU)",
  "revises its draft after reading the peers' drafts", Q8_HE, f"derived:HumanEval 0-shot 72.6% ({R_META31}) of the underlying model", False),
 ("gemma-3-27b-coder", "code_generation", "model", "Gemma-3-27B-it (vLLM, BF16, GPU)",
  "writes a first draft solution in the given persona", 0.873,
  f"derived:HumanEval accuracy 87.3% of the code-gen workflow with this model (D4R2), {R_OSDI_ACC}", False),
 ("gemma-3-27b-debater", "debate_round", "model", "Gemma-3-27B-it (vLLM, BF16, GPU)",
  "revises its draft after reading the peers' drafts", 0.873,
  f"derived:HumanEval accuracy 87.3% of the code-gen workflow with this model (D4R2), {R_OSDI_ACC}", False),
 ("llama-3.1-70b-testgen", "test_generation", "model", "Llama-3.1-70B-Instruct (vLLM, BF16, GPU)",
  "writes unit tests for the problem", Q70_HE, f"derived:HumanEval 0-shot 80.5% ({R_META31}) as a proxy for test-writing skill", True),
 ("llama-3.1-8b-testgen", "test_generation", "model", "Llama-3.1-8B-Instruct (vLLM, BF16, GPU)",
  "writes unit tests for the problem", Q8_HE, f"derived:HumanEval 0-shot 72.6% ({R_META31}) as a proxy for test-writing skill", False),

 ("python-sandbox", "test_execution", "tool", "isolated CPython subprocess with time and memory limits (CPU)",
  "runs the tests against the program and reports pass/fail per test", 1.0,
  "default:deterministic execution", True),

 ("exec-ranker", "ranking", "tool", "execution-based ranker (CPU)",
  "picks the candidate that passes the most generated tests (ties: shortest program)", 0.90,
  "default:no published number in the reference data; execution feedback assumed a better judge than an LLM reading the code", False),
 ("llama-3.1-70b-ranker", "ranking", "model", "Llama-3.1-70B-Instruct (vLLM, BF16, GPU)",
  "LLM judge that reads candidates and test results and names the best", Q70_HE,
  f"derived:HumanEval 0-shot 80.5% ({R_META31}) as a proxy for judging code", True),
 ("llama-3.1-8b-ranker", "ranking", "model", "Llama-3.1-8B-Instruct (vLLM, BF16, GPU)",
  "LLM judge that reads candidates and test results and names the best", Q8_HE,
  f"derived:HumanEval 0-shot 72.6% ({R_META31}) as a proxy for judging code", False),
]

# ---------------------------------------------------------------- hardware & clusters
E8S_PER_VCPU = 0.504 / 8                 # Azure Standard_E8s_v5 eastus, CPU-only, 8 vCPU
CORE_USD = 2 * E8S_PER_VCPU              # one physical core = 2 hyper-threaded vCPUs
ND_A100 = 32.77
ND_H100 = 98.32
A100_USD = (ND_A100 - 96 * CORE_USD) / 8
H100_USD = (ND_H100 - 96 * CORE_USD) / 8
EPYC_W = 225 / 64
XEON_W = 350 / 56
IDLE_FRAC = 0.20                          # GreenSKU power fraction at 10% utilisation, used as the idle floor
SKY = "skypilot-catalog v6 azure/vms.csv @098741e (eastus on-demand)"

hardware = [
 ("A100-80GB", "gpu", "one NVIDIA A100 SXM4 80GB (8 per Standard_ND96amsr_A100_v4)", 80, 400, 50, r(A100_USD),
  f"derived:active_w = TDP 400 W (NVIDIA A100 datasheet via glennklockwood.com/garden/processors/A100); idle_w = 46-51 W in public nvidia-smi dumps of idle A100-SXM4 (0 MiB, 0% util), 50 W used; usd_per_hour = (ND96amsr_A100_v4 32.77 - 96 cores x {CORE_USD:.3f}) / 8 ({SKY})"),
 ("H100-80GB", "gpu", "one NVIDIA H100 SXM5 80GB (8 per Standard_ND96isr_H100_v5)", 80, 700, 70, r(H100_USD),
  f"derived:active_w = TDP 700 W (glennklockwood.com/garden/processors/h100); idle_w = 68-73 W in public nvidia-smi dumps of idle H100 80GB HBM3 (0 MiB, 0% util), 70 W used; usd_per_hour = (ND96isr_H100_v5 98.32 - 96 cores x {CORE_USD:.3f}) / 8 ({SKY})"),
 ("EPYC-7V12-core", "cpu", "one physical core of the AMD EPYC 7V12 (Rome, 64 cores/socket, SMT off) host of Standard_ND96amsr_A100_v4; memory_gb = 1800 GiB VM RAM / 96 cores", r(1800 / 96, 2), r(EPYC_W), r(EPYC_W * IDLE_FRAC),
  r(CORE_USD),
  f"derived:active_w = socket TDP 225 W / 64 cores (225 W is an ASSUMPTION: top of the public EPYC 7002 range, 7V12 TDP unpublished; 64 cores/socket from learn.microsoft.com hbv2-series-overview); idle_w = 0.20 x active_w (power fraction at 10% utilisation, {R_GREENSKU}); usd_per_hour = 2 vCPU x Azure Standard_E8s_v5 0.504/8 USD per vCPU-hour ({SKY})"),
 ("Xeon-8480C-core", "cpu", "one physical core of the Intel Xeon Platinum 8480C (Sapphire Rapids) host of Standard_ND96isr_H100_v5 (96 cores, SMT off); memory_gb = 1900 GiB VM RAM / 96 cores", r(1900 / 96, 2), r(XEON_W), r(XEON_W * IDLE_FRAC),
  r(CORE_USD),
  f"default:active_w = 350 W / 56 cores of the Xeon Platinum 8480+ class (vendor spec, not in the reference data); idle_w = 0.20 x active_w ({R_GREENSKU}); usd_per_hour = 2 vCPU x Azure Standard_E8s_v5 0.504/8 USD per vCPU-hour ({SKY})"),
]

clusters = [
 ("hotos-testbed", "Standard_ND96amsr_A100_v4", 2, "A100-80GB", 8,
  "HotOS '25 Murakkab testbed: 2 Azure VMs, each 8x A100 80GB + 96 AMD EPYC 7V12 cores",
  "published:HotOS '25 Murakkab paper, evaluation testbed (2 x Standard_ND96amsr_A100_v4, 8x A100 80GB + 96 AMD EPYC cores each); 96 physical EPYC 7V12 cores per VM also in learn.microsoft.com nda100-v4-series"),
 ("hotos-testbed", "Standard_ND96amsr_A100_v4", 2, "EPYC-7V12-core", 96,
  "HotOS '25 Murakkab testbed: 2 Azure VMs, each 8x A100 80GB + 96 AMD EPYC 7V12 cores",
  "published:HotOS '25 Murakkab paper, evaluation testbed (2 x Standard_ND96amsr_A100_v4, 8x A100 80GB + 96 AMD EPYC cores each); 96 physical EPYC 7V12 cores per VM also in learn.microsoft.com nda100-v4-series"),
 ("osdi-a100-h100", "Standard_ND96amsr_A100_v4", 4, "A100-80GB", 8,
  "heterogeneous A100 + H100 pool in the spirit of OSDI '26 Murakkab Table 3 (which sweeps 0-500 H100 next to 2000 A100), scaled down to 4 A100 VMs + 2 H100 VMs",
  "default:node counts chosen for a small mixed pool; per-VM contents from skypilot-catalog v6 azure/vms.csv and learn.microsoft.com nda100-v4-series"),
 ("osdi-a100-h100", "Standard_ND96amsr_A100_v4", 4, "EPYC-7V12-core", 96,
  "heterogeneous A100 + H100 pool in the spirit of OSDI '26 Murakkab Table 3 (which sweeps 0-500 H100 next to 2000 A100), scaled down to 4 A100 VMs + 2 H100 VMs",
  "default:node counts chosen for a small mixed pool; per-VM contents from skypilot-catalog v6 azure/vms.csv and learn.microsoft.com nda100-v4-series"),
 ("osdi-a100-h100", "Standard_ND96isr_H100_v5", 2, "H100-80GB", 8,
  "heterogeneous A100 + H100 pool in the spirit of OSDI '26 Murakkab Table 3 (which sweeps 0-500 H100 next to 2000 A100), scaled down to 4 A100 VMs + 2 H100 VMs",
  "default:node counts chosen for a small mixed pool; ND96isr_H100_v5 = 8x H100 80GB + 96 vCPU (skypilot-catalog v6 azure/vms.csv; its GPU count 12 is a catalog error)"),
 ("osdi-a100-h100", "Standard_ND96isr_H100_v5", 2, "Xeon-8480C-core", 96,
  "heterogeneous A100 + H100 pool in the spirit of OSDI '26 Murakkab Table 3 (which sweeps 0-500 H100 next to 2000 A100), scaled down to 4 A100 VMs + 2 H100 VMs",
  "default:node counts chosen for a small mixed pool; ND96isr_H100_v5 = 8x H100 80GB + 96 vCPU (skypilot-catalog v6 azure/vms.csv; its GPU count 12 is a catalog error)"),
 ("single-a100", "Standard_NC24ads_A100_v4", 1, "A100-80GB", 1,
  "one Azure VM with 1 A100 80GB and 24 cores (Standard_NC24ads_A100_v4)",
  "derived:NC24ads_A100_v4 = 1x A100 80GB PCIe + 24 vCPU, 3.673 USD/h (skypilot-catalog v6 azure/vms.csv); APPROXIMATION: modelled with the A100-80GB (SXM, 400 W) and EPYC-7V12-core unit types, so unit prices sum to 5.61 USD/h, not 3.673"),
 ("single-a100", "Standard_NC24ads_A100_v4", 1, "EPYC-7V12-core", 24,
  "one Azure VM with 1 A100 80GB and 24 cores (Standard_NC24ads_A100_v4)",
  "derived:NC24ads_A100_v4 = 1x A100 80GB PCIe + 24 vCPU (AMD EPYC 7V13), 3.673 USD/h (skypilot-catalog v6 azure/vms.csv); APPROXIMATION: cores modelled as EPYC-7V12-core"),
]

# ---------------------------------------------------------------- profiles
profiles = []
# media_fps: the frame rate per_media_s was measured or derived at, for agents that decode
# every frame of what they read (their time per media second scales with it); None else.
def prof(agent, hw, units, setup, item, media, util, source, fps=None):
    profiles.append((agent, hw, units, r(setup, 3), r(item), r(media), r(util, 3), source, fps))

CPU_HW = ["EPYC-7V12-core", "Xeon-8480C-core"]
XEON_NOTE = "; Xeon-8480C core assumed as fast as an EPYC 7V12 core"
AMDAHL = f"Amdahl serial fraction {SERIAL} when one call is split over n cores: time(n) = time(1) x (1 + {SERIAL}(n-1)) / n"
UTIL_NOTE = f"utilisation = GreenSKU power fraction at busy fraction S(n)/n ({R_GREENSKU})"

def cpu_profiles(agent, cores, setup, item1, media1, src_base, fps=None):
    for hw in CPU_HW:
        for n in cores:
            s = S(n)
            src = src_base + (f"; {AMDAHL}" if len(cores) > 1 else "") + f"; {UTIL_NOTE}" + (XEON_NOTE if hw != CPU_HW[0] else "")
            prof(agent, hw, n, setup, item1 / s, media1 / s, cpu_util(n), src, fps)

# scene detection (CPU): histogram ~ decode bound; others scaled by benchmark elapsed-time ratios
dec1 = VIDEO_FPS / PYAV_CPU_FPS
for name, key in [("pyscenedetect-histogram", "hist"), ("pyscenedetect-content", "content"), ("pyscenedetect-adaptive", "adaptive")]:
    ratio = PSD_ELAPSED[key] / PSD_ELAPSED["hist"]
    cpu_profiles(name, [1, 4, 16], 0.5, 0.05, dec1 * ratio,
        f"derived:per_media_s(1 core) = video_fps 30 / 92 fps PyAV 1-core decode ({R_PYAV}) x {ratio:.3f} (elapsed {PSD_ELAPSED[key]} s / histogram 15.13 s, {R_PSD}; histogram detector taken as decode-bound); per_item_s 0.05 s and setup 0.5 s default",
        fps=VIDEO_FPS)
# TransNetV2 (GPU)
for hw in ["A100-80GB", "H100-80GB"]:
    prof("transnetv2", hw, 1, 5.0, 0.1, VIDEO_FPS / TNV2_FPS, 0.30,
         f"derived:per_media_s = video_fps 30 / 250 fps (TransNetV2 single-GPU throughput, arXiv 2008.04838 via emergentmind.com/topics/transnetv2 summary); decode on NVDEC ({NVDEC_T4_FPS:.0f} fps) assumed overlapped; {hw} assumed no faster (small network); setup, per_item_s and utilisation 0.3 default",
         fps=VIDEO_FPS)

# frame extraction
cpu_profiles("pyav-decode", [1, 4, 16], 0.5, 0.1, dec1,
    f"derived:per_media_s(1 core) = video_fps 30 / 92 fps 1080p H.264 PyAV decode on a 2-vCPU Colab host = 1 physical core ({R_PYAV}; OpenCV 96 fps in jlennox/NvEncSharp#4 agrees); decodes the whole scene; per_item_s 0.1 s (open, seek, encode frames_per_scene JPEGs) default",
    fps=VIDEO_FPS)
for hw in ["A100-80GB", "H100-80GB"]:
    prof("nvdec-decode", hw, 1, 1.0, 0.05, VIDEO_FPS / NVDEC_T4_FPS, 0.25,
         f"derived:per_media_s = video_fps 30 / {NVDEC_T4_FPS:.0f} fps (midpoint of 209-407 fps T4 NVDEC incl. copy to host, {R_PYAV}); {hw} NVDEC assumed no slower than T4; utilisation 0.25 default (video engine busy, SMs idle)",
         fps=VIDEO_FPS)

# audio extraction
cpu_profiles("ffmpeg-audio", [1], 0.2, 0.05, 0.002,
    "default:FFmpeg demux + AAC decode + resample at ~500x real time on one core; not parallelised (more cores do not shorten one call)")

# splitting and joining (tools; stated defaults)
cpu_profiles("ffmpeg-split", [1], 0.1, 0.05, 0.001,
    "default:FFmpeg segment muxer with stream copy reads ~1000x real time on one core; not parallelised")
cpu_profiles("concat-text", [1], 0.0, 0.001, 0.0, "default:joining a few kB of text in memory")
cpu_profiles("majority-vote", [1], 0.0, 0.001, 0.0, "default:comparing a few short answers in memory")

# Agents on this machine ('local-core': one core of the machine the catalog is opened on).
LOCAL_NOTE = "on this machine's cores; replace with `murakkab catalog profile` or refit from real runs"
MEASURED_SAMPLES = ("measured:vm, 2026-11-22 (runtime/agents on samples/*.mp4, 480x270 24 fps, best of 3, "
                    "1 core, host shared with other jobs: upper bounds) for the per-call and per-media-second "
                    "times; setup_s is a stated default")
MEASURED_REPORTS = ("measured:vm, 2026-12-01 (runtime/agents/documents.py on samples/reports/q1-q4.txt, 515-842 words, "
                    "best of 3, 1 core, host shared with other jobs: upper bounds); per_item_s = one document "
                    "(text-chunker), one full ~1,000-token chunk (extractive-summary), one reduce of 6 chunk summaries "
                    "(extractive-reduce); setup_s = importing the module once the agents package is loaded")
SAMPLES_FPS = 24  # samples/*.mp4 (samples/make_samples.py)
# The scene detectors and the frame decoder read every frame of the span they are given.
LOCAL_FPS = {"opencv-content-scenes": SAMPLES_FPS, "opencv-histogram-scenes": SAMPLES_FPS,
             "opencv-frames": VIDEO_FPS}  # catalog profile's synthetic clips are 30 fps
for agent, setup, item, media, why in [
    ("opencv-content-scenes", 0.05, 0.01, 0.044, MEASURED_SAMPLES),
    ("opencv-histogram-scenes", 0.05, 0.01, 0.024, MEASURED_SAMPLES),
    ("opencv-frames", 0.003, 0.0065, 0.0139, "measured:vm, 2026-11-22 (murakkab catalog profile opencv-frames, "
     "1280x720 synthetic 30 fps clips, 1 core) taken as the default for any machine"),
    ("pyav-audio", 0.02, 0.02, 0.0016, MEASURED_SAMPLES),
    ("pyav-split", 0.0, 0.001, 0.0, "cutting is arithmetic on ranges"),
    ("pocketsphinx", 0.3, 0.05, 0.24, MEASURED_SAMPLES),
    ("opencv-hog", 0.05, 0.086, 0.0, MEASURED_SAMPLES),
    ("opencv-describe", 0.05, 0.14, 0.0, MEASURED_SAMPLES),
    ("extractive-qa", 0.0, 0.001, 0.0, MEASURED_SAMPLES),
    ("text-chunker", 0.004, 0.0001, 0.0, MEASURED_REPORTS),
    ("extractive-summary", 0.004, 0.0009, 0.0, MEASURED_REPORTS),
    ("extractive-reduce", 0.004, 0.0015, 0.0, MEASURED_REPORTS),
    ("openai-chat", 0.0, 2.0, 0.0, "the endpoint's answer time depends on its server and model; 2 s per answer "
     "stands in (about 100 tokens at 50 tokens/s), one core held while the request waits"),
    ("concat-text", 0.0, 0.001, 0.0, "joining text in memory"),
    ("majority-vote", 0.0, 0.001, 0.0, "comparing a few short answers"),
]:
    source = why if why.startswith("measured:") else f"default:{why} {LOCAL_NOTE}"
    prof(agent, "local-core", 1, setup, item, media, 1.0, source, LOCAL_FPS.get(agent))

# speech to text
fw_v100s_rtf = 780 / 54   # 14.44x
for hw, scale, why in [("A100-80GB", 1.0, "A100 assumed at least as fast as the V100S"),
                       ("H100-80GB", A100_H100_TPOT, f"scaled from A100 by the Llama-3-8B single-GPU TPOT ratio {A100_H100_TPOT:.3f} ({R_LAMBDA_A100} vs {R_LAMBDA_H100})")]:
    prof("whisper-large-v2", hw, 1, 6.6, 0.15 / scale, 1 / fw_v100s_rtf / scale, 0.5,
         f"derived:per_media_s = 54 s / 780 s audio = 1 / 14.44x real time (faster-whisper large-v2 fp16 beam 5 on V100S: 780 s audio in 54 s, {R_FW_OLD}); {why}; per_item_s 0.15 s (one padded 30 s encoder pass per call) and utilisation 0.5 default; setup = 5 s + 3.1 GB fp16 weights at 2 GB/s (default)")
fw_small_rtf8 = 780 / 124  # 6.29x at 8 threads, int8, Xeon Gold 6226R
small_media1 = (1 / fw_small_rtf8) * S(8)
for hw in CPU_HW:
    for n in [1, 4, 8, 16]:
        s = S(n)
        src = (f"derived:per_media_s = 124 s / 780 s audio = 1 / 6.29x real time at 8 threads (faster-whisper small int8 beam 5 on Xeon Gold 6226R: 780 s audio in 124 s, {R_FW_OLD})"
               + ("" if n == 8 else f", rescaled to {n} cores with {AMDAHL}")
               + f"; per_item_s 1.0 s at 1 core (30 s padded encoder pass) default, same scaling; {UTIL_NOTE}" + (XEON_NOTE if hw != CPU_HW[0] else ""))
        prof("whisper-small-cpu", hw, n, 1.25, 1.0 / s, small_media1 / s, cpu_util(n), src)
cpu_profiles("pocketsphinx", [1, 4, 16], 1.0, 0.2, 0.5,
    "default:per_media_s 0.5 at 1 core (assumed 0.5x real-time factor for PocketSphinx with a generic model; no number in the reference data); audio split into chunks across cores")

# LLM helpers ---------------------------------------------------------------
def llm_curves_8b():
    a1 = (0.1267, 0.01201); h1 = (0.0622, 0.00756)
    return {
        ("A100-80GB", 1): (a1, f"published:TTFT 126.7 ms, TPOT 12.01 ms ({R_LAMBDA_A100}; Llama-3-8B, same architecture as 3.1)"),
        ("A100-80GB", 2): ((a1[0] / PHI4_A100[0], a1[1] / PHI4_A100[1]),
                            f"derived:TP1 A100 TTFT 126.7 ms / TPOT 12.01 ms ({R_LAMBDA_A100}) divided by the TP1->TP2 speed-up of Phi-4 on A100 (TTFT 0.75->0.41 s, TPOT 25->15 ms; {R_OSDI})"),
        ("H100-80GB", 1): (h1, f"published:TTFT 62.2 ms, TPOT 7.56 ms ({R_LAMBDA_H100}; Llama-3-8B, same architecture as 3.1)"),
        ("H100-80GB", 2): ((h1[0] / PHI4_H100[0], h1[1] / PHI4_H100[1]),
                            f"derived:TP1 H100 TTFT 62.2 ms / TPOT 7.56 ms ({R_LAMBDA_H100}) divided by the TP1->TP2 speed-up of Phi-4 on H100 (TTFT 0.27->0.17 s, TPOT 14->8.9 ms; {R_OSDI})"),
    }
def llm_curves_70b():
    a8 = (0.68, 0.044); a4 = (a8[0] * NVLM_A100[0], a8[1] * NVLM_A100[1]); a2 = (a4[0] * PHI4_A100[0], a4[1] * PHI4_A100[1])
    h8 = (0.27, 0.015); h4 = (h8[0] * NVLM_H100[0], 0.0166); h2 = (h4[0] * PHI4_H100[0], h4[1] * PHI4_H100[1])
    tight = "; BF16 weights 141 GB on 2x80 GB leave little KV cache (short contexts only)"
    return {
        ("A100-80GB", 8): (a8, f"published:Llama-3.1-70B TP8 A100 TTFT_p90 0.68 s, TPOT_p90 44 ms at low load ({R_OSDI})"),
        ("A100-80GB", 4): (a4, f"derived:TP8 A100 curve (0.68 s / 44 ms, {R_OSDI}) x the TP8->TP4 slow-down of NVLM-D-72B on A100 (TTFT 0.58->1.0 s, TPOT 24->41 ms, same source)"),
        ("A100-80GB", 2): (a2, f"derived:the TP4 A100 estimate x the TP2->TP1 slow-down of Phi-4 on A100 (TTFT 0.41->0.75 s, TPOT 15->25 ms; {R_OSDI}) applied to TP4->TP2{tight}"),
        ("H100-80GB", 8): (h8, f"published:Llama-3.1-70B TP8 H100 TTFT_p90 0.27 s, TPOT_p90 15 ms at low load ({R_OSDI})"),
        ("H100-80GB", 4): (h4, f"derived:TPOT 16.6 ms = median inter-token latency of Llama-3.1-70B-Instruct 4xH100 TP4 at max_num_seqs 8 ({R_MLE}); TTFT = TP8 0.27 s ({R_OSDI}) x NVLM-D-72B H100 TP8->TP4 TTFT slow-down 0.24->0.37 s"),
        ("H100-80GB", 2): (h2, f"derived:the TP4 H100 estimate x the TP2->TP1 slow-down of Phi-4 on H100 (TTFT 0.17->0.27 s, TPOT 8.9->14 ms; {R_OSDI}) applied to TP4->TP2{tight}"),
    }

def llm_profiles(agent, curves, out_tokens, out_why, setup, util, util_src, setup_src):
    for (hw, n), ((ttft, tpot), src) in sorted(curves.items()):
        per = ttft + out_tokens * tpot
        kind, _, how = src.partition(":")
        curve = "curve read directly" if kind == "published" else "curve derived"
        prof(agent, hw, n, setup, per, 0.0, util,
             f"derived:per_item_s = TTFT {ttft:.4f} s + {out_tokens} output tokens ({out_why}) x TPOT {tpot:.5f} s; {curve}: {how}; TTFT taken as measured for the source's prompt mix (prompt ~1-2k tokens); {util_src}; {setup_src}")

U8 = round(486 / 700, 3);  U8_SRC = f"utilisation = 486 W / 700 W TDP (Llama-3.1-8B 1xH100 max_num_seqs 8, {R_MLE})"
U70 = round(1765 / 4 / 700, 3); U70_SRC = f"utilisation = 1765 W / 4 GPUs / 700 W TDP (Llama-3.1-70B 4xH100 max_num_seqs 8, {R_MLE})"
SET8 = "setup = 20 s engine start + 16 GB BF16 weights at 2 GB/s (default)"
SET70 = "setup = 20 s engine start + 141 GB BF16 weights at 2 GB/s (default)"
TASKS = [
 ("qa", 128, "Azure LLM conversation trace 2023 median GeneratedTokens 129"),
 ("summarizer", 256, "statistics.summary_tokens"),
 ("reducer", 256, "statistics.summary_tokens"),
 ("coder", 256, "OSDI code-gen D4R4 completion tokens 2500-6500 per request over 4 coders x 5 turns = 125-325 per call"),
 ("debater", 256, "OSDI code-gen D4R4 completion tokens 2500-6500 per request over 4 coders x 5 turns = 125-325 per call"),
 ("testgen", 256, "assumed like a code draft"),
 ("ranker", 32, "default: the index of the winner plus a one-line reason"),
]
for task, toks, why in TASKS:
    llm_profiles(f"llama-3.1-8b-{task}", llm_curves_8b(), toks, why, 28.0, U8, U8_SRC, SET8)
    llm_profiles(f"llama-3.1-70b-{task}", llm_curves_70b(), toks, why, 90.5, U70, U70_SRC, SET70)

# VLM captioners: caption_tokens = 60 output tokens
CAP = 60; CAP_WHY = "statistics.caption_tokens"
nvlm = {
 ("A100-80GB", 4): ((1.0, 0.041), f"published:NVLM-D-72B TP4 A100 TTFT_p90 1.0 s, TPOT_p90 41 ms ({R_OSDI})"),
 ("A100-80GB", 8): ((0.58, 0.024), f"published:NVLM-D-72B TP8 A100 TTFT_p90 0.58 s, TPOT_p90 24 ms ({R_OSDI})"),
 ("H100-80GB", 4): ((0.37, 0.022), f"published:NVLM-D-72B TP4 H100 TTFT_p90 0.37 s, TPOT_p90 22 ms ({R_OSDI})"),
 ("H100-80GB", 8): ((0.24, 0.0136), f"published:NVLM-D-72B TP8 H100 TTFT_p90 0.24 s, TPOT_p90 13.6 ms ({R_OSDI})"),
}
llm_profiles("nvlm-d-72b-captioner", nvlm, CAP, CAP_WHY, 99.0, U70, U70_SRC.replace("utilisation =", "utilisation (Llama-70B proxy) ="),
             "setup = 20 s + ~158 GB BF16 weights (72B LLM + 6B ViT) at 2 GB/s (default)")
g4a, g4h = (0.4, 0.046), (0.17, 0.016)
gemma = {
 ("A100-80GB", 2): ((g4a[0] * PHI4_A100[0], g4a[1] * PHI4_A100[1]), f"derived:Gemma-3-27B TP4 A100 (0.4 s / 46 ms, {R_OSDI}) x the TP2->TP1 slow-down of Phi-4 on A100 applied to TP4->TP2"),
 ("A100-80GB", 4): (g4a, f"published:Gemma-3-27B TP4 A100 TTFT_p90 0.4 s, TPOT_p90 46 ms ({R_OSDI})"),
 ("A100-80GB", 8): ((0.27, 0.026), f"published:Gemma-3-27B TP8 A100 TTFT_p90 0.27 s, TPOT_p90 26 ms ({R_OSDI})"),
 ("H100-80GB", 2): ((g4h[0] * PHI4_H100[0], g4h[1] * PHI4_H100[1]), f"derived:Gemma-3-27B TP4 H100 (0.17 s / 16 ms, {R_OSDI}) x the TP2->TP1 slow-down of Phi-4 on H100 applied to TP4->TP2"),
 ("H100-80GB", 4): (g4h, f"published:Gemma-3-27B TP4 H100 TTFT_p90 0.17 s, TPOT_p90 16 ms ({R_OSDI})"),
 ("H100-80GB", 8): ((0.13, 0.0125), f"published:Gemma-3-27B TP8 H100 TTFT_p90 0.13 s, TPOT_p90 12.5 ms ({R_OSDI})"),
}
llm_profiles("gemma-3-27b-captioner", gemma, CAP, CAP_WHY, 47.0, U70, U70_SRC.replace("utilisation =", "utilisation (Llama-70B proxy) ="),
             "setup = 20 s + 54 GB BF16 weights at 2 GB/s (default)")
# The code-gen study's Gemma-3-27B as coder and debater: the same curves, a code draft's tokens.
for task, toks, why in TASKS:
    if task in ("coder", "debater"):
        llm_profiles(f"gemma-3-27b-{task}", gemma, toks, why, 47.0, U70,
                     U70_SRC.replace("utilisation =", "utilisation (Llama-70B proxy) ="),
                     "setup = 20 s + 54 GB BF16 weights at 2 GB/s (default)")
q_h = (2 * 0.0622, 8 / 745)
qwen = {
 ("H100-80GB", 1): (q_h, f"derived:TPOT = 8 sequences / 745 tok/s (Qwen3-VL-8B 1xH100 max_num_seqs 8, {R_MLE}); TTFT = 2 x Llama-3-8B H100 TTFT 62.2 ms ({R_LAMBDA_H100}) for the image encoder and ~1k visual tokens (default)"),
 ("A100-80GB", 1): ((q_h[0] * A100_H100_TTFT, q_h[1] * A100_H100_TPOT), f"derived:the H100 estimate (TPOT 8/745 s from {R_MLE}; TTFT 2 x 62.2 ms) x the Llama-3-8B A100/H100 ratios (TTFT 126.7/62.2, TPOT 12.01/7.56; LambdaLabsML/vllm-benchmark)"),
}
llm_profiles("qwen3-vl-8b-captioner", qwen, CAP, CAP_WHY, 29.0, round(483 / 700, 3),
             f"utilisation = 483 W / 700 W (Qwen3-VL-8B 1xH100 video-chat, {R_MLE})", "setup = 20 s + 17.5 GB BF16 weights at 2 GB/s (default)")

# object detection
cpu_profiles("opencv-hog", [1, 4, 16], 0.3, 0.15, 0.0,
    "default:per_item_s 0.15 s per frame at 1 core (HOG people detector + Haar faces on a ~640x360 downscaled frame; no number in the reference data)")
vit_ratio = 3.43 / 1.53          # T4 -> A100, ViT-B/16 batch 1 (FT)
pt_overhead = 121.17 / 43.91     # PyTorch vs FT, ViT-B/16@384 batch 32 on A100
l14_a100 = 0.022 / vit_ratio
b16_a100 = 0.00153 * pt_overhead
for agent, a100_s, how in [
    ("clip-vit-l14-tagger", l14_a100, f"CLIP ViT-L/14 fp16 PyTorch 22 ms on T4 ({R_FASTCLIP}) / T4->A100 ratio {vit_ratio:.2f} (ViT-B/16 batch 1: 3.43 -> 1.53 ms, {R_FT})"),
    ("clip-vit-b16-tagger", b16_a100, f"ViT-B/16 batch-1 1.53 ms on A100 with FasterTransformer x PyTorch/FT ratio {pt_overhead:.2f} (ViT-B/16@384 batch 32: 121.17 vs 43.91 ms; {R_FT})")]:
    prof(agent, "A100-80GB", 1, 5.5, a100_s + 0.005, 0.0, 0.4,
         f"derived:per_item_s = image tower {a100_s*1000:.1f} ms ({how}) + 5 ms preprocessing (default); label text embeddings cached; utilisation 0.4 default; setup = 5 s + weights at 2 GB/s (default)")
    prof(agent, "H100-80GB", 1, 5.5, a100_s / A100_H100_TTFT + 0.005, 0.0, 0.4,
         f"derived:A100 image-tower time {a100_s*1000:.1f} ms / {A100_H100_TTFT:.2f} (Llama-3-8B prefill A100/H100 TTFT ratio 126.7/62.2 ms, LambdaLabsML/vllm-benchmark) + 5 ms preprocessing (default); utilisation 0.4 default")

# single-call CPU tools
cpu_profiles("bm25-extractive-qa", [1], 0.5, 0.05, 0.0, "default:0.05 s to index a few thousand context tokens and score sentences; one call does not parallelise")
cpu_profiles("token-chunker", [1], 0.5, 0.02, 0.0, "default:0.02 s to tokenize and split ~8k tokens with a fast (Rust) tokenizer; one call does not parallelise")
cpu_profiles("python-sandbox", [1], 0.5, 1.0, 0.0, "default:1.0 s per call = sandboxed interpreter start + imports + running a handful of asserts under a timeout")
cpu_profiles("exec-ranker", [1], 0.1, 0.01, 0.0, "default:0.01 s to parse test reports and sort a few candidates")

# ---------------------------------------------------------------- statistics
statistics = [
 ("vote_samples", 3, "samples",
  "default:the smallest odd number of samples with a majority; expand_paths samples a task this many times when a quality SLO asks for it"),
 ("split_chunk_s", 30, "s",
  "published:Whisper transcribes audio in 30-second windows (Radford et al., Robust Speech Recognition via Large-Scale Weak Supervision, 2022, section 2.2); long inputs are cut to that length"),
 ("video_duration_s", round(254 * 3600 / 900, 1), "s",
  "derived:Video-MME mean duration = 254 h / 900 videos (Fu et al., arXiv 2405.21075; short/medium/long subsets average 80.8/520.2/2471.0 s)"),
 ("video_fps", 30, "frames/s", "default:typical web/broadcast frame rate; the 1080p decode benchmark file in jlennox/NvEncSharp#4 is 29.97 fps"),
 ("scene_length_s", 4.0, "s",
  "published:contemporary Hollywood average shot length ~4 s (Barry Salt / Cinemetrics, quoted at forums.theregister.co.uk/user/40621; Cutting et al. 2010, 150 films: 'contemporary about 4 seconds average'); secondary sources"),
 ("speech_tokens_per_s", 3.25, "tokens/s", "default:150 spoken words per minute x 1.3 LLM tokens per word / 60"),
 ("caption_tokens", 60, "tokens",
  f"derived:marginal completion tokens per extra frame of the video Q/A workflow with Llava-OneVision-7B, (650 - 100) / (10 - 1) = 61 ({R_OSDI_TOK}, F1 vs F10)"),
 ("document_tokens", 8000, "tokens", "default:a ~6,000-word report at ~1.3 tokens per word"),
 ("chunk_tokens", 1024, "tokens", "default:common map-reduce chunk size, well inside an 8k-128k context"),
 ("chunk_fill", 1.0, "fraction",
  "default:a chunk is taken to fill its chunk_tokens budget; a chunker that cuts at paragraph or sentence ends fills less, which catalog refit learns from the chunk counts of real runs"),
 ("summary_tokens", 256, "tokens", "default:a one-paragraph summary (~200 words)"),
 ("list_length", 4, "items",
  "default:a LIST whose length is unknown is assumed to hold 4 items (the OSDI'26 Murakkab code-gen workflow uses 2 or 4 debaters)"),
]

# ---------------------------------------------------------------- write
HEADERS = {
 "interfaces": ["name", "description", "inputs", "output", "cardinality", "output_attrs", "partitionable", "examples",
                "splittable", "samplable"],
 "interface_knobs": ["interface", "knob", "default_value", "domain", "description", "effect"],
 "agents": ["name", "interface", "kind", "model", "description", "quality", "quality_source", "baseline",
            "serving_model", "api_key_env"],
 "hardware": ["name", "kind", "description", "memory_gb", "active_w", "idle_w", "usd_per_hour", "source"],
 "clusters": ["name", "node", "node_count", "hardware", "units_per_node", "description", "source"],
 "profiles": ["agent", "hardware", "units", "setup_s", "per_item_s", "per_media_s", "utilisation", "source",
              "media_fps"],
 "statistics": ["key", "value", "unit", "source"],
}
COMMENTS = {
 "interfaces": "# Agent interfaces (names, types, cardinalities and output attributes are fixed by the project). Generated by derive_seed.py; see SOURCES.md.",
 "interface_knobs": "# Knobs a task may set with WITH (...). Generated by derive_seed.py; see SOURCES.md.",
 "agents": "# Implementations per interface; quality in (0,1] with quality_source published:/derived:/default:. Generated by derive_seed.py; see SOURCES.md.",
 "hardware": "# One row per unit type (one GPU or one physical CPU core); power and price per unit. Generated by derive_seed.py; see SOURCES.md.",
 "clusters": "# Named inventories: node_count machines of type node, each with units_per_node units of hardware. Generated by derive_seed.py; see SOURCES.md.",
 "profiles": "# Per call: per_item_s + per_media_s x media seconds (x fps / media_fps where media_fps is set: the agent decodes every frame); setup_s once per instance on `units` units. Generated by derive_seed.py; see SOURCES.md.",
 "statistics": "# Fallback statistics for the cardinality estimator. Generated by derive_seed.py; see SOURCES.md.",
}
def fmt(v):
    if v is None: return ""
    if isinstance(v, bool): return "true" if v else "false"
    if isinstance(v, float): return repr(round(v, 6)).rstrip("0").rstrip(".") if "e" not in repr(v) else repr(v)
    return str(v)
def write(table, rows):
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(HEADERS[table])
    for row in rows:
        row = list(row)
        assert len(row) == len(HEADERS[table]), (table, row)
        w.writerow([fmt(v) for v in row])
    with open(os.path.join(OUT, f"{table}.csv"), "w", encoding="utf-8") as f:
        f.write(COMMENTS[table] + "\n" + buf.getvalue())

# Interfaces whose single long input may be cut into chunks and the results concatenated
# (split_long_inputs): transcribing 30 s windows and joining the text is what Whisper does
# anyway. Frame extraction is not: it samples frames over the whole clip.
SPLITTABLE = {"speech_to_text"}
interfaces += [
 ("media_split",
  "Cut a long audio or video item into consecutive chunks of split_chunk_s seconds (stream copy, no re-encode).",
  "media MEDIA", "LIST<AUDIO>", "max(1, ceil(duration_s / split_chunk_s))",
  "duration_s = min(duration_s, split_chunk_s)", True,
  "cut the recording into chunks | split the audio into pieces | segment a long track"),
 ("text_concatenation",
  "Join a list of texts, in order, into one text.",
  "parts LIST<TEXT>", "TEXT", "1", "", False,
  "concatenate the texts | join the transcripts | merge the pieces of text"),
]
# Interfaces whose answer may be sampled k times and decided by majority vote
# (expand_paths): the output must be TEXT, what the vote returns.
SAMPLABLE = {"question_answering"}
interfaces += [
 ("answer_vote",
  "Pick the answer most of the sampled answers agree on (majority vote; ties go to the first).",
  "candidates LIST<TEXT>", "TEXT", "1", "", False,
  "vote on the answers | majority vote | pick the most common answer"),
]
write("interfaces", [i + (i[0] in SPLITTABLE, i[0] in SAMPLABLE) for i in interfaces])
write("interface_knobs", knobs)
agents += [
 ("ffmpeg-split", "media_split", "tool", "FFmpeg segment muxer (stream copy), CPU",
  "cuts a long track into fixed-length chunks without re-encoding", 1.0, "default:lossless cut at chunk boundaries", True),
 ("concat-text", "text_concatenation", "tool", "in-process string join",
  "joins texts in order", 1.0, "default:lossless", True),
]
agents += [
 ("majority-vote", "answer_vote", "tool", "normalised-string majority vote, CPU",
  "returns the answer given most often among the samples", 1.0,
  "default:the vote itself adds no error; the sampled task's quality accounts for voting", True),
]
# Agents that run on this machine (runtime/agents; their Python names match these rows).
agents += [
 ("opencv-content-scenes", "scene_detection", "tool", "OpenCV frame-difference cut detector (this machine)",
  "mean absolute HSV difference between consecutive frames against a threshold", 0.8669,
  "default:taken equal to PySceneDetect's ContentDetector, the same method (F1 86.69 on BBC)", False),
 ("opencv-histogram-scenes", "scene_detection", "tool", "OpenCV histogram-correlation cut detector (this machine)",
  "correlation of YCrCb histograms (32 bins per channel) of consecutive frames", 0.80,
  "default:taken equal to PySceneDetect's HistogramDetector, the same method", False),
 ("opencv-frames", "frame_extraction", "tool", "OpenCV VideoCapture decode (this machine)",
  "decodes the clip and keeps frames_per_scene evenly spaced frames", 1.0,
  "default:frame sampling is deterministic", False),
 ("pyav-audio", "audio_extraction", "tool", "PyAV decode + resample to 16 kHz mono (this machine)",
  "writes the clip's audio as 16 kHz mono WAV", 1.0, "default:deterministic resample", False),
 ("pyav-split", "media_split", "tool", "clip ranges (no re-encoding; this machine)",
  "cuts a clip into consecutive ranges of split_chunk_s seconds", 1.0, "default:lossless", False),
 ("opencv-describe", "frame_summarization", "tool", "OpenCV colour and detector summary (this machine)",
  "describes a frame by its dominant colours, brightness and detected people and faces: a tool, not a VLM",
  0.30, "default:states colours and detections only; far below a vision-language model", False),
 ("extractive-qa", "question_answering", "tool", "BM25 sentence extractor (this machine)",
  "answers with the context sentence most similar to the question", 0.30,
  "default:extractive answers from transcripts and captions; no reasoning", False),
 ("text-chunker", "document_chunking", "tool", "paragraph and sentence splitter, words x 1.3 tokens (this machine)",
  "cuts a UTF-8 text file into consecutive chunks of about chunk_tokens tokens at paragraph, else sentence, boundaries",
  1.0, "default:deterministic and lossless: every word of the file is in exactly one chunk, in order", False),
 ("extractive-summary", "summarization", "tool", "TF-IDF centroid sentence extractor (this machine)",
  "keeps the sentences closest to the text's TF-IDF centroid, up to summary_tokens, in their original order; no generation",
  0.40, "default:no summarization score in the reference data; an extractive summary keeps the text's central sentences "
  "but cannot paraphrase or compress them, so it is set below the LLM summarizers (MMLU proxy 0.694) and above the "
  "extractive answerer (0.30)", False),
 ("extractive-reduce", "summary_reduction", "tool", "near-duplicate filter + TF-IDF centroid extractor (this machine)",
  "drops sentences that repeat an earlier one (term cosine > 0.8), then keeps the most central up to summary_tokens",
  0.40, "default:no score in the reference data; de-duplicates and selects but cannot rewrite, as extractive-summary "
  "(0.40)", False),
 ("openai-chat", "question_answering", "model",
  "any OpenAI-compatible chat endpoint (vLLM, llama.cpp server, Ollama, hosted); base URL and model from "
  "$MURAKKAB_LLM_BASE_URL / $MURAKKAB_LLM_MODEL, key from the environment variable the catalog's api_key_env names",
  "answers the question from the numbered context", 0.694,
  "default:depends on the model served; taken as Llama-3.1-8B (MMLU 69.4%, Meta model card)", False),
]
# The served model behind an LLM agent: the key of its OSDI load curves (llm_curves.csv)
# and ML.ENERGY rows (energy_per_token.csv), both written by derive_osdi.py.
SERVING_MODELS = {"gemma-3-27b-": "Gemma-3-27B", "nvlm-d-72b-": "NVLM-D-72B", "llama-3.1-70b-": "Llama-3.1-70B",
                  "llama-3.1-8b-": "Llama-3.1-8B"}


def serving_model(name):
    return next((m for prefix, m in SERVING_MODELS.items() if name.startswith(prefix)), "")


# The environment variable an agent's API key is read from (by name; the key is never stored).
API_KEY_ENV = {"openai-chat": "OPENAI_API_KEY"}

write("agents", [a + (serving_model(a[0]), API_KEY_ENV.get(a[0], "")) for a in agents])
write("hardware", hardware)
write("clusters", clusters)
write("profiles", profiles)
write("statistics", statistics)
print(len(interfaces), len(agents), len(hardware), len(clusters), len(profiles), len(statistics))
