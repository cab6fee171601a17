"""Shared by the test_cli_* files: run the CLI in-process and split what it printed."""

from lstmkit.cli import main


def run_cli(capsys, *argv):
    """→ (exit code, stdout, stderr) of ``lstmkit argv…`` run in this process."""
    try:
        rc = main([str(a) for a in argv])
    except SystemExit as e:  # argparse's own errors and --help
        rc = e.code
    out, err = capsys.readouterr()
    return rc, out, err


def assert_user_error(rc, err, *needles):
    """Exit 2, one line naming the problem, no traceback."""
    assert rc == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.splitlines() if line.strip() and "%|" not in line]
    assert len(lines) == 1, err
    for n in needles:
        assert n in lines[0], lines[0]
