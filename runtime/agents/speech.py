"""Speech to text with CMU PocketSphinx, offline.

    pocketsphinx  speech_to_text  Clip -> str

The ``pocketsphinx`` package on PyPI (5.x) ships its US-English models (acoustic model,
3-gram language model, CMU pronouncing dictionary) inside the wheel, so nothing is
downloaded. The clip's audio is decoded and resampled to 16 kHz mono 16-bit PCM with
PyAV (:func:`murakkab.runtime.agents.media.decode_audio`), so the input may be a WAV
written by ``pyav-audio`` or any video or audio file PyAV reads, and only the clip's range
is recognised. The whole range is decoded as one utterance; long recordings are meant to
be cut first (``media_split``, which the ``split_long_inputs`` rule adds for 30 s chunks).

PocketSphinx is a GMM-HMM recogniser: fast on one core, but far less accurate than
Whisper-class models (expect many wrong words on natural speech); the output is lower
case without punctuation. Decoding is deterministic. One decoder (~0.3 s to load) is kept
per thread.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .errors import AgentError
from .media import SPEECH_RATE_HZ, decode_audio
from .registry import agent
from .values import Clip

_LOCAL = threading.local()


def _decoder() -> Any:
    decoder = getattr(_LOCAL, "decoder", None)
    if decoder is None:
        try:
            from pocketsphinx import Decoder
        except ImportError:
            raise AgentError("the pocketsphinx agent needs the pocketsphinx package",
                             hint="pip install 'pocketsphinx>=5.0' (its wheel ships the en-us model)") from None
        # loglevel FATAL: PocketSphinx otherwise logs every model file it loads to stderr.
        decoder = Decoder(samprate=SPEECH_RATE_HZ, loglevel="FATAL")
        _LOCAL.decoder = decoder
    return decoder


# Below -60 dBFS RMS a recording is silence for speech: conversational speech sits near
# -20 to -30 dBFS on a normally levelled recording, 30 dB and more above this floor.
SILENCE_DBFS = -60.0


def is_silent(pcm: np.ndarray) -> bool:
    """Whether 16-bit samples are quieter than :data:`SILENCE_DBFS` (RMS, full scale 32768)."""
    if pcm.size == 0:
        return True
    rms = float(np.sqrt(np.mean(np.square(pcm, dtype=np.float64))))
    return rms < 32768.0 * 10 ** (SILENCE_DBFS / 20)


@agent("pocketsphinx", interface="speech_to_text", version="2")  # 2: silence is ""
def pocketsphinx_stt(audio: Clip) -> str:
    """The words PocketSphinx recognises in the clip (lower case, no punctuation; "" for silence)."""
    pcm = decode_audio(audio, SPEECH_RATE_HZ)
    if is_silent(pcm):
        # Digital silence (a video without an audio track decodes to zeros) makes the
        # decoder invent words: its cepstral normalisation amplifies nothing into something.
        return ""
    decoder = _decoder()
    decoder.start_utt()
    decoder.process_raw(pcm.tobytes(), no_search=False, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr.strip() if hyp is not None and hyp.hypstr else ""
