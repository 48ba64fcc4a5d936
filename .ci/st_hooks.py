"""schemathesis hooks for .ci/schemathesis.

Each request that carries a valid Idempotency-Key gets a fresh one. The
generator draws short keys ("0", "A") again and again, so two unrelated POSTs
would share a key; the second is then, by design, a replay of the first and
answers with the first one's resource, which the stateful phase may already
have deleted. That is idempotency working, not a finding, and it made the run
depend on timing. Keys that break the header's rules are left as drawn, so
the negative cases still test their refusal.
"""

import re
import uuid

# schemathesis imports its ASGI transport (and anyio with it) lazily, on the
# first request; when that happens deep inside the generator's recursion,
# CPython 3.11 fails compiling anyio's lazy importer ("AST constructor
# recursion depth mismatch"), a runtime error of the tool. Imported here, at
# the top of the stack, it is already loaded by then.
import schemathesis
import schemathesis.transport.asgi  # noqa: F401

VALID_KEY = re.compile(r"^[!-~]([ -~]{0,253}[!-~])?$")


@schemathesis.hook
def before_call(context, case, **kwargs):
    headers = case.headers
    if not headers:
        return
    for name in list(headers):
        if name.lower() == "idempotency-key":
            value = headers[name]
            if isinstance(value, str) and VALID_KEY.match(value):
                headers[name] = str(uuid.uuid4())
