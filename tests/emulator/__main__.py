"""python -m tests.emulator serve --port PORT --workdir DIR [options]  (run from the repository root)."""

import argparse
import signal
import sys
import threading
import time

from . import Emulator


def parse_args(argv):
    parser = argparse.ArgumentParser(prog="python -m tests.emulator", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the ARM emulator in the foreground until SIGTERM/SIGINT")
    serve.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (0 = any free port)")
    serve.add_argument("--workdir", required=True, help="where ca.pem, env.sh (and the state file) go")
    serve.add_argument("--ready-delay", type=float, default=0.0, help="seconds to wait before accepting requests")
    serve.add_argument("--provision-delay", type=float, default=0.0, help="seconds a long-running operation takes")
    serve.add_argument("--retry-after", type=int, default=1, help="Retry-After on long-running responses (>= 1)")
    serve.add_argument("--pod-ready-delay", type=float, default=0.0, help="passed to the Kubernetes emulator")
    serve.add_argument("--state-file", help="persist resources to this JSON file and resume from it")
    serve.add_argument("--no-kubernetes", action="store_true", help="do not start Kubernetes API servers for clusters")
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    time.sleep(max(0.0, args.ready_delay))
    emulator = Emulator(args.workdir, port=args.port, state_file=args.state_file, provision_delay=args.provision_delay,
                        retry_after=max(1, args.retry_after), pod_ready_delay=args.pod_ready_delay,
                        kubernetes=not args.no_kubernetes).start()
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    sys.stdout.write("ready %s\n" % emulator.url)
    sys.stdout.flush()
    while not stopping.wait(0.5):
        pass
    emulator.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
