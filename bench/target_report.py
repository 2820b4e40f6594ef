"""A benchmark's targets, each a (text, value, met) triple with value None when it could not
be measured: their lines and the verdict on the console, and their rows for the JSON."""


def print_targets(checks, show_value):
    """Prints each target with its value (show_value's text) and PASS or FAIL, then the verdict;
    returns whether every target was met."""
    print("targets:")
    for text, value, met in checks:
        print(f"  {'PASS' if met else 'FAIL'}  {text}: {'n/a' if value is None else show_value(value)}")
    passed = all(met for _, _, met in checks)
    print("PASS" if passed else "FAIL")
    return passed


def json_rows(checks):
    return [{"target": text, "value": value, "met": met} for text, value, met in checks]
