"""``python -m llmlab.sim serve``: the simulator over real HTTP, bound to loopback by default."""

from __future__ import annotations

import argparse
import json
import os
import sys

from llmlab._exceptions import SimulatorError
from llmlab.sim.adapters._asgi import ADMIN_TOKEN_HEADER, is_loopback

ADMIN_TOKEN_ENV = "LLMLAB_ADMIN_TOKEN"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m llmlab.sim", description="Serve the simulated providers over HTTP."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve /anthropic/v1/... and /openai/v1/...")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default loopback)")
    serve.add_argument(
        "--allow-remote",
        action="store_true",
        help="allow a non-loopback --host: the API accepts any key, so anyone who can reach it "
        "can use it",
    )
    serve.add_argument(
        "--admin-token",
        default=None,
        help="token that opens /admin/... to non-loopback clients, sent as the "
        f"{ADMIN_TOKEN_HEADER} header (default ${ADMIN_TOKEN_ENV}; none: loopback only)",
    )
    serve.add_argument("--port", type=int, default=8765)
    serve.add_argument("--seed", type=int, default=0)
    serve.add_argument(
        "--time-scale",
        type=float,
        default=None,
        help="real seconds per simulated second (default $LLMLAB_TIME_SCALE or 1)",
    )
    serve.add_argument("--rpm", type=int, default=None, help="requests per minute per key")
    serve.add_argument("--itpm", type=int, default=None, help="input tokens per minute per key")
    serve.add_argument("--otpm", type=int, default=None, help="output tokens per minute per key")
    serve.add_argument(
        "--faults", default=None, help='JSON fault rates, e.g. \'{"500": 0.05, "529": 0.02}\''
    )
    serve.add_argument(
        "--script",
        default=None,
        help='comma-separated scripted faults, e.g. "500,500,500" (then normal)',
    )
    args = parser.parse_args(argv)
    if not is_loopback(args.host):
        if not args.allow_remote:
            print(
                f"llmlab.sim: refusing to bind {args.host}: it is not a loopback address, and "
                "the simulator accepts any API key and lets loopback clients script its faults. "
                "Pass --allow-remote to expose it anyway.",
                file=sys.stderr,
            )
            return 2
        print(
            f"llmlab.sim: WARNING: serving on {args.host}, reachable from other machines; "
            "anyone who reaches it can use the API with any key. /admin/... answers remote "
            "clients only with the admin token.",
            file=sys.stderr,
            flush=True,
        )

    import uvicorn

    from llmlab.sim import FaultPlan, RateLimits, Simulator
    from llmlab.sim.adapters._asgi import uvicorn_config
    from llmlab.sim.physics._ratelimit import DEFAULT_LIMITS

    try:
        limits = RateLimits(
            args.rpm or DEFAULT_LIMITS.requests_per_minute,
            args.itpm or DEFAULT_LIMITS.input_tokens_per_minute,
            args.otpm or DEFAULT_LIMITS.output_tokens_per_minute,
        )
        faults = FaultPlan()
        if args.faults:
            faults = FaultPlan.random(json.loads(args.faults))
        if args.script:
            faults.script.extend(FaultPlan.scripted(args.script.split(",")).script)
        sim = Simulator(
            seed=args.seed, time_scale=args.time_scale, rate_limits=limits, faults=faults
        )
    except (SimulatorError, ValueError) as exc:
        print(f"llmlab.sim: {exc}", file=sys.stderr)
        return 2
    print(
        f"llmlab simulator on http://{args.host}:{args.port}  "
        f"(ANTHROPIC_BASE_URL=http://{args.host}:{args.port}/anthropic  "
        f"OPENAI_BASE_URL=http://{args.host}:{args.port}/openai/v1)",
        flush=True,
    )
    token = args.admin_token or os.environ.get(ADMIN_TOKEN_ENV) or None
    uvicorn.Server(uvicorn_config(sim, args.host, args.port, admin_token=token)).run()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
