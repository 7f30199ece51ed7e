"""``SET planner = 'llm'``: an LLM proposes the workflow of a description-only RUN.

The Murakkab orchestrator of the OSDI '26 paper (section 3.2) asks an LLM to decompose a
request into a DAG of catalog interfaces. Here an OpenAI-compatible chat endpoint
(``runtime/agents/llm.py``: ``$MURAKKAB_LLM_BASE_URL``, ``$MURAKKAB_LLM_MODEL``) is shown
the interface catalog (signatures and descriptions), the RUN's description and the names
of its inputs, and answers with one CREATE WORKFLOW statement in the job language.
Nothing it writes is trusted: the answer is parsed and bound like a user's script, and
the first error (located in the proposal) goes back to the model as the next message, at
most :data:`MAX_ATTEMPTS` times in all; then the RUN is refused with the last error.
"""

from __future__ import annotations

import re
from typing import Callable

from ..catalog.catalog import Catalog
from ..grammar import ast
from ..grammar.diagnostics import MurakkabError
from ..grammar.parser import parse

# Attempts in all (the first proposal and two corrections): each is a model call of a few
# seconds, and a model that cannot fix a type error in two tries rarely does in a third.
MAX_ATTEMPTS = 3
PROPOSAL_SOURCE = "<llm proposal>"

Chat = Callable[[list[dict[str, str]]], str]

_SYSTEM = """You plan compound-AI workflows in the murakkab job language. Answer with exactly one
statement and nothing else:

CREATE WORKFLOW name (param TYPE, ...) AS (
  task := interface_name (argument, ...),
  ...
) RETURNS task;

Types: TEXT NUMBER BOOL MEDIA AUDIO VIDEO SCENE IMAGE DOCUMENT CHUNK CODE ANY LIST<T>.
Use only the interfaces listed below, by name. Passing LIST<T> where an interface takes
T runs the task once per item. Declare exactly the parameters the request gives.

Interfaces:
"""


def messages(catalog: Catalog, run: ast.Run) -> list[dict[str, str]]:
    """The first request: the catalog's interfaces, then the RUN's description and inputs."""
    interfaces = "\n".join(f"- {i.signature()}: {i.description}" for i in catalog.interfaces())
    inputs = "\n".join(f"- {a.name} => {a.value.span.text if a.value.span else '?'}" for a in run.args) or "- (none)"
    return [{"role": "system", "content": _SYSTEM + interfaces},
            {"role": "user", "content": f"Request: {run.target}\nInputs:\n{inputs}"}]


def statement(reply: str) -> str:
    """The CREATE WORKFLOW statement of a reply, without Markdown code fences around it."""
    text = re.sub(r"```[a-zA-Z]*", "", reply)
    start = text.upper().find("CREATE")
    return text[start:].strip() if start >= 0 else text.strip()


def propose(catalog: Catalog, run: ast.Run, check: Callable[[ast.CreateWorkflow], None],
            chat: Chat) -> tuple[ast.CreateWorkflow, int]:
    """A workflow for ``run`` that ``check`` accepts, and the attempt that produced it;
    each refusal is sent back to the model."""
    conversation = messages(catalog, run)
    last: MurakkabError | None = None
    for attempt in range(1, MAX_ATTEMPTS + 1):
        reply = chat(conversation)
        try:
            stmts = parse(statement(reply), PROPOSAL_SOURCE).statements
            if len(stmts) != 1 or not isinstance(stmts[0], ast.CreateWorkflow):
                raise MurakkabError("the answer must be exactly one CREATE WORKFLOW statement")
            check(stmts[0])
            return stmts[0], attempt
        except MurakkabError as err:
            last = err
            conversation = conversation + [
                {"role": "assistant", "content": reply},
                {"role": "user", "content": f"That statement is refused:\n{err.render()}\n"
                                            "Answer with the corrected CREATE WORKFLOW statement only."}]
    assert last is not None
    raise MurakkabError(f"the LLM planner proposed no valid workflow for '{run.target}' in {MAX_ATTEMPTS} attempts",
                        run.target_span, f"its last proposal: {last.message}; "
                        "write the workflow with CREATE WORKFLOW, or SET planner = 'matcher'")


def endpoint_chat() -> Chat:
    """The configured OpenAI-compatible endpoint as a :data:`Chat`."""
    from ..runtime.agents.llm import endpoint

    chat_endpoint = endpoint()
    return lambda conversation: chat_endpoint.chat(conversation, max_tokens=1024)
