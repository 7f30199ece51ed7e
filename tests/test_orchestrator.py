"""The orchestrator step: plain-words tasks and description-only RUNs are matched to the
catalog visibly (``check``, EXPLAIN), refused when the match is weak or the interface does
another action, and a type error names the phrase and what it was matched to."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import murakkab
from murakkab.catalog.show import show
from murakkab.compiler.bind import compile_script, interface_choice
from murakkab.compiler.matcher import MIN_CONFIDENCE, actions, direction
from murakkab.grammar.diagnostics import MurakkabError

from .fake_http import JsonHandler

ROOT = Path(__file__).parent.parent


def _quoted(phrase: str) -> str:
    return "'" + phrase.replace("'", "''") + "'"


def bind_step(catalog, phrase: str, params: str = "x TEXT", args: str = "x"):
    text = f"CREATE WORKFLOW w ({params}) AS (step := {_quoted(phrase)} ({args})) RETURNS step;"
    return compile_script(text, "steps.job", catalog)


# Steps no interface of the seed catalog does; each would bind by word overlap alone
# to the interface in the comment (its score is at or above the threshold for most).
REFUSED = [
    ("Translate the texts into French", "parts LIST<TEXT>", "parts"),     # text_concatenation 0.48
    ("Translate the transcript into Spanish", "t TEXT", "t"),             # summarization
    ("Compile the code", "c CODE", "c"),                                  # code_generation 0.33
    ("Email the summary to the team", "t TEXT", "t"),                     # summary_reduction 0.44
    ("Sort the numbers", "n LIST<NUMBER>", "n"),
    ("Sort the summaries alphabetically", "s LIST<TEXT>", "s"),           # summary_reduction 0.44
    ("Delete the videos", "v VIDEO", "v"),                                # scene_detection 0.24
    ("Upload the video to YouTube", "v VIDEO", "v"),
    ("Compress the video", "v VIDEO", "v"),
    ("Encrypt the documents", "d DOCUMENT", "d"),                         # document_chunking 0.44
    ("Blur the faces in each frame", "f IMAGE", "f"),                     # frame_summarization 0.30
    ("Count the words in the text", "t TEXT", "t"),                       # speech_to_text 0.30
    ("Print the document", "d DOCUMENT", "d"),
    ("Play the audio", "a AUDIO", "a"),                                   # audio_extraction 0.45
    ("Tweet the answer", "t TEXT", "t"),                                  # answer_vote 0.47
    ("Deploy the program", "c CODE", "c"),
    ("Format the code", "c CODE", "c"),
    ("Crop the frames", "f IMAGE", "f"),                                  # frame_extraction 0.39
    ("Encode the video as H.264", "v VIDEO", "v"),
    ("Paraphrase each text", "t LIST<TEXT>", "t"),                        # text_concatenation 0.48
    ("Classify the sentiment of each text", "t LIST<TEXT>", "t"),
    ("Normalize the audio volume", "a AUDIO", "a"),
    ("Search the web for the answer", "q TEXT", "q"),
    ("Reverse the list of texts", "t LIST<TEXT>", "t"),
    ("Mute the audio of the video", "v VIDEO", "v"),                      # audio_extraction 0.50
    ("Transcribe the speech and summarize it", "v VIDEO", "v"),           # two actions, no one interface
    ("Bake a chocolate cake", "v VIDEO", "v"),                            # nothing in common
]


@pytest.mark.parametrize(("phrase", "params", "args"), REFUSED, ids=[p for p, _, _ in REFUSED])
def test_a_step_no_interface_does_is_refused_where_it_is_written(default_catalog, phrase: str, params: str,
                                                                   args: str) -> None:
    with pytest.raises(MurakkabError) as err:
        bind_step(default_catalog, phrase, params, args)
    e = err.value
    assert e.span is not None and e.span.text == _quoted(phrase)
    # The closest interfaces with their scores, and how to name one instead.
    assert "closest:" in (e.hint or "") and "step := " in (e.hint or "") and "SHOW INTERFACES" in (e.hint or "")
    assert "steps.job:1:" in e.render() and "^" in e.render()


# Paraphrases of each interface's job (none is one of the catalog's own example phrasings).
BOUND = [
    ("Cut each video into scenes", "v VIDEO", "v", "scene_detection"),
    ("Find the shot boundaries in the video", "v VIDEO", "v", "scene_detection"),
    ("Scene detection", "v VIDEO", "v", "scene_detection"),
    ("Sample a few frames from every scene", "s SCENE", "s", "frame_extraction"),
    ("Pull the audio track out of each video", "v VIDEO", "v", "audio_extraction"),
    ("Extract the soundtrack from the video", "v VIDEO", "v", "audio_extraction"),
    ("Transcribe what is said in each clip", "s LIST<SCENE>", "s", "speech_to_text"),
    ("Write down what people say", "s LIST<SCENE>", "s", "speech_to_text"),
    ("Speech recognition on each scene", "s LIST<SCENE>", "s", "speech_to_text"),
    ("Caption each image", "f LIST<IMAGE>", "f", "frame_summarization"),
    ("Describe every frame in one sentence", "f LIST<IMAGE>", "f", "frame_summarization"),
    ("Tag the objects visible in each frame", "f LIST<IMAGE>", "f", "object_detection"),
    ("Find the objects in each frame", "f LIST<IMAGE>", "f", "object_detection"),
    ("Answer the user's question from the captions", "q TEXT, c LIST<TEXT>", "q, c", "question_answering"),
    ("Break each document into chunks", "d LIST<DOCUMENT>", "d", "document_chunking"),
    ("Condense each chunk into a short summary", "c LIST<CHUNK>", "c", "summarization"),
    ("Summarise the transcript", "t TEXT", "t", "summarization"),
    ("Merge the partial summaries into a final one", "s LIST<TEXT>", "s", "summary_reduction"),
    ("Then combine the notes into one overall summary", "s LIST<TEXT>", "s", "summary_reduction"),
    ("Write a program that solves the problem", "p TEXT, who TEXT", "p, who", "code_generation"),
    ("Revise the draft after reading the other drafts", "d CODE, o LIST<CODE>", "d, o", "debate_round"),
    ("Write unit tests for the problem", "p TEXT", "p", "test_generation"),
    ("Run the tests against each program", "c LIST<CODE>, t CODE", "c, t", "test_execution"),
    ("Pick the best candidate program", "c LIST<CODE>, r LIST<TEXT>", "c, r", "ranking"),
    ("Split the long recording into pieces", "a AUDIO", "a", "media_split"),
    ("Concatenate the transcripts", "t LIST<TEXT>", "t", "text_concatenation"),
    ("Vote on the sampled answers", "a LIST<TEXT>", "a", "answer_vote"),
]


@pytest.mark.parametrize(("phrase", "params", "args", "interface"), BOUND, ids=[b[0] for b in BOUND])
def test_a_paraphrase_binds_to_its_interface(default_catalog, phrase: str, params: str, args: str,
                                             interface: str) -> None:
    bound = bind_step(default_catalog, phrase, params, args)
    (step,) = bound.steps
    assert step.chosen.name == interface and step.chosen.score >= MIN_CONFIDENCE
    assert (step.workflow, step.task, step.phrase, step.kind) == ("w", "step", phrase, "interface")


def test_every_example_phrasing_of_the_catalog_binds_to_its_own_interface(default_catalog) -> None:
    for iface in default_catalog.interfaces():
        for example in (e.strip() for e in iface.examples.split("|") if e.strip()):
            assert interface_choice(default_catalog, example).chosen.name == iface.name, example


def test_the_examples_keep_their_interfaces() -> None:
    """The examples' plain-words steps, as they bound before the action check."""
    bound = murakkab.compile(ROOT / "examples" / "hotos_listing2.job")
    assert {s.task: s.chosen.name for s in bound.steps} == {
        "frames": "frame_extraction", "scenes": "scene_detection", "speech": "speech_to_text",
        "objects": "object_detection", "shown": "summary_reduction", "said": "summary_reduction"}
    bound = murakkab.compile(ROOT / "examples" / "video_qa.job")
    assert [s.chosen.name for s in bound.steps] == [
        "scene_detection", "frame_extraction", "speech_to_text", "frame_summarization", "question_answering"]


def test_naming_an_interface_in_the_phrase_counts_only_for_a_name_of_several_words(default_catalog) -> None:
    assert interface_choice(default_catalog, "Run speech-to-text on all scenes").chosen.name == "speech_to_text"
    # 'ranking' is also a plain noun: the phrase asks to translate, which ranking does not do.
    assert interface_choice(default_catalog, "Translate the ranking of the candidate programs").chosen is None


def test_the_refusal_names_the_action_and_what_the_interface_does(default_catalog) -> None:
    with pytest.raises(MurakkabError) as err:
        bind_step(default_catalog, "Translate the texts into French", "parts LIST<TEXT>", "parts")
    assert err.value.message == ("'Translate the texts into French' asks to translate, which text_concatenation "
                                 "(score 0.48) does not do (it does: concatenate, join, merge)")
    assert "step := text_concatenation (parts)" in (err.value.hint or "")


def test_a_weak_match_is_refused_with_its_score(default_catalog) -> None:
    with pytest.raises(MurakkabError, match=r"enough confidence \(best 0\.\d\d < 0\.2\)"):
        bind_step(default_catalog, "Identify the mood", "f IMAGE", "f")


def test_a_type_error_names_the_phrase_and_the_interface_it_was_matched_to(default_catalog) -> None:
    with pytest.raises(MurakkabError) as err:
        bind_step(default_catalog, "Transcribe the speech", "q TEXT", "q")
    assert err.value.message == ("'q' is TEXT, but speech_to_text (matched from 'Transcribe the speech') "
                                 "expects audio MEDIA")
    assert err.value.span.text == "q" and "name its interface" in (err.value.hint or "")
    # Written by name, the message stays as it was.
    with pytest.raises(MurakkabError) as err:
        compile_script("CREATE WORKFLOW w (q TEXT) AS (s := speech_to_text (q)) RETURNS s;", "t.job",
                       default_catalog)
    assert err.value.message == "'q' is TEXT, but speech_to_text expects audio MEDIA"


def test_a_question_asks_for_an_answer_not_a_transcript(default_catalog) -> None:
    """The issue's case: this RUN used to run transcribe_videos."""
    with pytest.raises(MurakkabError) as err:
        compile_script("RUN 'What is the person holding in these videos?' (videos => ['a.mp4']);", "q.job",
                       default_catalog)
    assert "template video_qa (matched from 'What is the person holding in these videos?')" in err.value.message
    assert "question" in err.value.message
    assert err.value.hint == ("give every parameter with name => value: "
                              "video_qa takes (videos LIST<VIDEO>, question TEXT)")


def test_a_tie_between_two_eligible_interfaces_is_refused(default_catalog, monkeypatch) -> None:
    from murakkab.compiler import bind
    from murakkab.compiler.matcher import Entry, Matcher

    same = "Summarize the text"
    tied = Matcher.build([Entry("summarization", same, (same,)), Entry("frame_summarization", same, (same,))])
    monkeypatch.setattr(bind, "interface_choice", lambda catalog, phrase: tied.choose(phrase))
    with pytest.raises(MurakkabError, match="matches frame_summarization and summarization equally") as err:
        bind_step(default_catalog, "Summarize the text")
    assert "step := frame_summarization (x)" in (err.value.hint or "")


def test_a_description_only_run_no_template_does_is_refused(default_catalog) -> None:
    with pytest.raises(MurakkabError) as err:
        compile_script("RUN 'Translate the videos into French' (videos => ['a.mp4']);", "q.job", default_catalog)
    assert "asks to translate" in err.value.message and "SHOW TEMPLATES" in (err.value.hint or "")


def test_a_template_match_is_recorded(default_catalog) -> None:
    bound = compile_script("RUN 'List the objects shown or mentioned in the videos' (videos => ['a.mp4']);",
                           "q.job", default_catalog)
    (step,) = bound.steps
    assert (step.kind, step.task, step.chosen.name) == ("template", "<run>", "video_objects")


@pytest.mark.parametrize(("phrase", "expected"), [
    ("Merge and deduplicate the lists", ("merge", "deduplicate")),
    ("Transcribe the speech and summarize it", ("transcribe", "summarize")),
    ("find the answer in the transcript and captions", ("find",)),  # nouns are not actions
    ("Speech recognition on each scene", ("recognize",)),
    ("Summarise the transcript", ("summarize",)),
    ("Then combine the notes", ("combine",)),
    ("What is the person holding?", ("answer",)),
    ("Translate the texts", ("translate",)),
])
def test_actions_of_a_phrase(phrase: str, expected: tuple[str, ...]) -> None:
    assert actions(phrase) == expected


# Direction: what a step takes and makes (compiler/matcher.py, check 3). The seed catalog
# has speech_to_text (audio -> text) and no text-to-speech: a phrase asking the other way
# shares its words but must not bind to it, nor to another interface by another kind.
TURNED = [
    ("Generate speech from the text", "t TEXT", "t"),                   # speech_to_text, the reverse
    ("Turn the text into audio", "t TEXT", "t"),
    ("Convert the transcript to speech", "t TEXT", "t"),
    ("Read the text aloud", "t TEXT", "t"),
    ("Extract the video from the audio", "a AUDIO", "a"),               # audio_extraction, the reverse
    ("Generate an image from the caption", "t TEXT", "t"),              # frame_summarization, the reverse
    ("Extract the text from the video", "v VIDEO", "v"),                # frame_extraction makes images
]
# Phrases whose direction agrees with their interface, said with prepositions.
WITH_DIRECTION = [
    ("Transcribe the speech in the audio", "a AUDIO", "a", "speech_to_text"),
    ("Convert the speech into text", "a AUDIO", "a", "speech_to_text"),
    ("Generate subtitles for the video", "v VIDEO", "v", "speech_to_text"),
    ("Write a caption for each image", "f LIST<IMAGE>", "f", "frame_summarization"),
    ("Pull the frames out of each scene", "s LIST<SCENE>", "s", "frame_extraction"),
    ("Convert the video into audio", "v VIDEO", "v", "audio_extraction"),
]


@pytest.mark.parametrize(("phrase", "params", "args"), TURNED, ids=[p for p, _, _ in TURNED])
def test_a_step_asked_the_other_way_is_refused(default_catalog, phrase: str, params: str, args: str) -> None:
    with pytest.raises(MurakkabError) as err:
        bind_step(default_catalog, phrase, params, args)
    assert err.value.span.text == _quoted(phrase) and "closest:" in (err.value.hint or "")


@pytest.mark.parametrize(("phrase", "params", "args", "interface"), WITH_DIRECTION,
                         ids=[b[0] for b in WITH_DIRECTION])
def test_a_step_asked_its_interface_s_way_binds(default_catalog, phrase: str, params: str, args: str,
                                                interface: str) -> None:
    (step,) = bind_step(default_catalog, phrase, params, args).steps
    assert step.chosen.name == interface


def test_the_refusal_says_which_way_the_step_and_the_interface_go(default_catalog) -> None:
    with pytest.raises(MurakkabError) as err:
        bind_step(default_catalog, "Generate speech from the text", "t TEXT", "t")
    assert err.value.message == ("'Generate speech from the text' asks for text -> audio, which speech_to_text "
                                 "(score 0.50) does not do (it goes audio or video -> text: the reverse)")
    assert "step := speech_to_text (t)" in (err.value.hint or "")


def _with_text_to_speech(catalog):
    """The seed catalog's interfaces and a text-to-speech one, as the binder builds its matcher."""
    from murakkab.compiler.matcher import Entry, Matcher

    rows = [(i.name, i.description, i.examples) for i in catalog.interfaces()]
    rows.append(("text_to_speech", "Synthesize spoken audio of a text in a natural voice.",
                 "speak the passage | read a document out loud | produce a voice recording of the summary | "
                 "convert a text to speech"))
    return Matcher.build([Entry(name, f"{name} {about} {examples}", (about, *examples.split("|")))
                          for name, about, examples in rows])


@pytest.mark.parametrize("phrase", ["Generate speech from the text", "Turn the text into audio",
                                    "Read the text aloud", "Convert the transcript to speech"])
def test_with_a_text_to_speech_interface_the_other_way_binds_to_it(default_catalog, phrase: str) -> None:
    choice = _with_text_to_speech(default_catalog).choose(phrase)
    assert choice.chosen is not None and choice.chosen.name == "text_to_speech"
    assert "speech_to_text" not in {m.name for m in choice.eligible}


@pytest.mark.parametrize("phrase", ["Transcribe the speech in the audio", "Convert the speech into text"])
def test_with_a_text_to_speech_interface_transcribing_still_binds_to_speech_to_text(default_catalog,
                                                                                    phrase: str) -> None:
    choice = _with_text_to_speech(default_catalog).choose(phrase)
    assert choice.chosen is not None and choice.chosen.name == "speech_to_text"
    assert "text_to_speech" not in {m.name for m in choice.eligible}
    if phrase.startswith("Convert"):  # it converts too, the other way
        assert choice.turned["text_to_speech"][1] == "the reverse"


@pytest.mark.parametrize(("phrase", "expected"), [
    ("Generate speech from the text", "text -> audio"),           # X from Y
    ("Turn the text into audio", "text -> audio"),                # turn Y into X
    ("Convert the video to audio", "video -> audio"),             # Y to X
    ("Read the text aloud", "text -> audio"),
    ("Read the document out loud", "text -> audio"),
    ("speech_to_text", "audio -> text"),                          # a name says it too
    ("Speech synthesis of the summary", "text -> audio"),         # a noun names the action
    ("Transcribe the speech in each clip", "audio or video -> ?"),
    ("Write down what is said", "? -> ?"),
    ("Pull the audio track out of each video", "video -> audio"),
    ("Sample a fixed number of still frames from it", "? -> image"),
    ("Extract video frames", "? -> image"),                       # a compound is its last noun
    ("Decode a scene (video clip) and sample frames from it", "video -> image"),
])
def test_direction_of_a_phrase(phrase: str, expected: str) -> None:
    assert str(direction(phrase)) == expected


def test_direction_refuses_only_on_what_both_sides_say() -> None:
    asked = direction("Extract the text from the image")                       # image -> text
    assert asked.against(direction("Transcribe the speech into text")) == "it takes audio, not image"
    assert asked.against(direction("Draw an image of the caption")) == "the reverse"  # text -> image
    # A candidate described only by what it takes ("read text") is judged by what it makes alone.
    assert asked.against(direction("Read text")) is None
    assert asked.against(direction("Write code")) == "it makes code, not text"
    assert direction("Summarize the text").against(direction("Generate speech from the text")) is None


def _run_cli(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([sys.executable, "-m", "murakkab", *argv], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


def test_check_lists_each_plain_words_step_with_score_and_runner_up() -> None:
    done = _run_cli("check", "examples/video_qa.job")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "examples/video_qa.job: ok (1 workflow, 1 job)"
    assert lines[1].startswith("plain-words steps (matched to the catalog; score 0..1, refused below 0.20")
    assert ("  video_qa.scenes 'Identify the scenes in each video' -> interface scene_detection (score 0.43; "
            "runner-up frame_extraction 0.19, another action)") in lines
    assert sum(line.startswith("  video_qa.") for line in lines) == 5


def test_check_refuses_a_wrong_step_at_its_location(tmp_path: Path) -> None:
    script = tmp_path / "fr.job"
    script.write_text("CREATE WORKFLOW w (parts LIST<TEXT>) AS (\n"
                      "  fr := 'Translate the texts into French' (parts)\n) RETURNS fr;\n")
    done = _run_cli("check", str(script))
    assert done.returncode == 2 and done.stdout == ""
    assert f"{script}:2:9" in done.stderr and "^" in done.stderr
    assert "fr := text_concatenation (parts)" in done.stderr


def test_explain_shows_the_matched_steps_in_text_and_json(default_catalog) -> None:
    text = (ROOT / "examples" / "map_reduce_docs.job").read_text(encoding="utf-8")
    out = murakkab.explain(text, catalog=default_catalog, name="m.job")
    assert ("  summary 'Combine the partial summaries into one' -> interface summary_reduction (score 0.57; "
            "runner-up summarization 0.25, another action)") in out.splitlines()
    data = json.loads(murakkab.explain(text, format="json", catalog=default_catalog, name="m.job"))
    assert data["matched"][0] == {
        "workflow": "summarize_reports", "task": "summaries", "phrase": "Summarize each chunk of text",
        "kind": "interface", "chosen": "summarization", "score": 0.4626, "runner_up": "document_chunking",
        "runner_up_score": 0.3324, "runner_up_same_action": False}


def test_explain_of_a_description_only_run_shows_the_template(default_catalog) -> None:
    out = murakkab.explain("EXPLAIN RUN 'Transcribe the speech in a set of videos' (videos => ['a.mp4']);",
                           catalog=default_catalog, name="t.job")
    assert "  RUN 'Transcribe the speech in a set of videos' -> template transcribe_videos (score 0.97;" in out


def test_show_templates_lists_what_a_description_only_run_can_match(default_catalog) -> None:
    result = show(default_catalog, "templates")
    assert result.columns == ["name", "inputs", "description"]
    assert ("video_qa", "videos LIST<VIDEO>, question TEXT", "Answer a question about a set of videos") in result.rows
    assert {r[0] for r in result.rows} == {t.name for t in default_catalog.templates()}
    assert show(default_catalog, "interfaces").rows  # SHOW INTERFACES lists what a step can match


# -- SET planner = 'llm' (compiler/llm_planner.py), against a local HTTP server ----------------

class _Endpoint:
    """An OpenAI-compatible chat endpoint on localhost that answers with canned replies in
    order and keeps the requests it got."""

    def __init__(self, replies: list[str]) -> None:
        import http.server
        import threading

        self.replies, self.requests = list(replies), []
        endpoint = self

        class Handler(JsonHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                endpoint.requests.append(body)
                reply = endpoint.replies.pop(0)
                self.send_json(200, {"choices": [{"message": {"role": "assistant", "content": reply}}]})

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


GOOD_PROPOSAL = """```
CREATE WORKFLOW holding (videos LIST<VIDEO>, question TEXT) AS (
  scenes := scene_detection (videos),
  frames := frame_extraction (scenes),
  captions := frame_summarization (frames),
  answer := question_answering (question, captions)
) RETURNS answer;
```"""
WRONG_TYPES = """CREATE WORKFLOW holding (videos LIST<VIDEO>, question TEXT) AS (
  captions := frame_summarization (videos),
  answer := question_answering (question, captions)
) RETURNS answer;"""
LLM_RUN = ("SET planner = 'llm';\n"
           "RUN 'What is the person holding in these videos?' (videos => ['a.mp4'], question => 'What is held?');")


@pytest.fixture
def llm(monkeypatch):
    made: list[_Endpoint] = []

    def start(replies: list[str]) -> _Endpoint:
        endpoint = _Endpoint(replies)
        made.append(endpoint)
        monkeypatch.setenv("MURAKKAB_LLM_BASE_URL", endpoint.url)
        monkeypatch.setenv("MURAKKAB_LLM_MODEL", "test-model")
        return endpoint

    yield start
    for endpoint in made:
        endpoint.close()


def test_the_llm_planner_proposes_and_a_type_error_goes_back_to_it(default_catalog, llm) -> None:
    endpoint = llm([WRONG_TYPES, GOOD_PROPOSAL])
    (job,) = compile_script(LLM_RUN, "q.job", default_catalog).jobs
    assert job.workflow == "holding"
    assert [n.interface for n in job.plan.tasks] == [
        "scene_detection", "frame_extraction", "frame_summarization", "question_answering"]
    first, second = endpoint.requests
    assert "frame_summarization(frame IMAGE) -> TEXT" in first["messages"][0]["content"]
    assert "Request: What is the person holding in these videos?" in first["messages"][1]["content"]
    # The binder's error, located in the proposal, is the next message.
    feedback = second["messages"][-1]["content"]
    assert "'videos' is LIST<VIDEO>, but frame_summarization expects frame IMAGE" in feedback
    assert "<llm proposal>:2:" in feedback


def test_the_llm_planner_gives_up_after_its_attempts(default_catalog, llm) -> None:
    from murakkab.compiler.llm_planner import MAX_ATTEMPTS

    endpoint = llm(["I cannot help with that."] + [WRONG_TYPES] * (MAX_ATTEMPTS - 1))
    with pytest.raises(MurakkabError, match=f"no valid workflow .* in {MAX_ATTEMPTS} attempts") as err:
        compile_script(LLM_RUN, "q.job", default_catalog)
    assert err.value.span.text == "'What is the person holding in these videos?'"
    assert "expects frame IMAGE" in (err.value.hint or "") and len(endpoint.requests) == MAX_ATTEMPTS


def test_the_planner_setting_is_checked(default_catalog) -> None:
    with pytest.raises(MurakkabError, match="unknown planner 'gpt'"):
        compile_script("SET planner = 'gpt';", "q.job", default_catalog)
