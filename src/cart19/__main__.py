"""``python -m cart19`` and the ``cart19`` console script.

The interrupt handlers go in before the command line is imported: a Ctrl-C during the imports
(a few tenths of a second) then ends the run plainly, with status 130, not with a traceback.
"""

import signal
import sys


def run() -> None:
    from cart19.io.write import on_interrupt

    signal.signal(signal.SIGINT, on_interrupt)
    signal.signal(signal.SIGTERM, on_interrupt)
    try:
        from cart19.cli import main
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":  # pragma: no cover - exercised through subprocess tests
    run()
