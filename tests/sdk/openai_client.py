"""The official OpenAI Python SDK through `slaplan serve` (in front of
`slaplan emulate`): a non-streaming and a streaming chat completion, a
wrong key, and a model outside the tenant's chain.

Starts both servers on 127.0.0.1 with ephemeral ports, stops them at the
end (also on failure), and exits non-zero on any mismatch. Run by .ci/run
with the notebooks' virtual environment:

    python tests/sdk/openai_client.py --bin target/release/slaplan
"""

import argparse
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import openai
from openai import OpenAI

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "serve.toml"
KEY = "acme-sdk-test-key"


def start(cmd, env):
    """Starts `cmd`, returns (process, the http://ADDR/v1 it printed)."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 60
    line = proc.stdout.readline()
    match = re.search(r"http://[0-9.:]+/v1", line or "")
    if not match or time.monotonic() > deadline:
        proc.kill()
        raise SystemExit(f"{cmd[1]} did not start: {line!r} {proc.stderr.read()}")
    return proc, match.group(0)


def expected(n):
    return "".join(f"w{i} " for i in range(n))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin", required=True)
    args = parser.parse_args()
    env = dict(os.environ, ACME_KEY=KEY, BULK_KEY="bulk-sdk-test-key")
    procs = []
    try:
        emu, emu_url = start([args.bin, "emulate", str(SCENARIO), "--listen", "127.0.0.1:0"], env)
        procs.append(emu)
        gw, gw_url = start(
            [args.bin, "serve", str(SCENARIO), "--listen", "127.0.0.1:0", "--default-upstream", emu_url], env
        )
        procs.append(gw)
        client = OpenAI(base_url=gw_url, api_key=KEY, max_retries=0, timeout=30)
        messages = [{"role": "user", "content": "Hello"}]

        answer = client.chat.completions.create(model="sonnet@anthropic/eu", max_tokens=8, messages=messages)
        assert answer.choices[0].message.content == expected(8), answer
        assert answer.usage.completion_tokens == 8, answer.usage

        text = ""
        chunks = 0
        for chunk in client.chat.completions.create(
            model="sonnet@anthropic/eu", max_tokens=12, messages=messages, stream=True
        ):
            if chunk.choices and chunk.choices[0].delta.content:
                text += chunk.choices[0].delta.content
                chunks += 1
        assert text == expected(12), text
        assert chunks == 12, chunks

        models = [m.id for m in client.models.list()]
        assert models == ["sonnet@anthropic/eu", "sonnet@bedrock/eu"], models

        try:
            OpenAI(base_url=gw_url, api_key="wrong", max_retries=0).chat.completions.create(
                model="sonnet@anthropic/eu", messages=messages
            )
            raise AssertionError("a wrong key was served")
        except openai.AuthenticationError:
            pass
        try:
            client.chat.completions.create(model="gpt-elsewhere", messages=messages)
            raise AssertionError("a model outside the chain was served")
        except openai.NotFoundError:
            pass
        print(f"openai {openai.__version__}: 5 passed, 0 failed")
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()


if __name__ == "__main__":
    sys.exit(main())
