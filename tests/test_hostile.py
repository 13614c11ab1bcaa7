"""Hostile and unlucky input: crafted URLs, huge or malformed configs, dangerous output
paths, signals and a full disk. Each case must end quickly with a clear message and leave
nothing destroyed or half-written."""

from __future__ import annotations

import pytest

from explorer.urlstate import MAX_NOTICES, MAX_PARAM_CHARS, decode_state, decode_value
from plurel_core.config import Config

# -- URL parameters -----------------------------------------------------------------------

# digits, a separator, digits, then a character that makes the match fail: an ambiguous
# number grammar tries every split of both digit runs (cubic in the length)
HOSTILE_RANGE = "1" * 1500 + "-" + "1" * 1500 + "x"


@pytest.mark.timeout(30)
def test_a_crafted_range_value_is_rejected_without_backtracking() -> None:
    # the parser itself, below any length cap: it took about a minute at this size
    with pytest.raises(ValueError, match="not a range"):
        decode_value(Config.spec("schema.num_tables"), HOSTILE_RANGE)
    with pytest.raises(ValueError, match="not a number"):
        decode_value(Config.spec("schema.categorical_prob"), HOSTILE_RANGE)


@pytest.mark.timeout(30)
def test_overlong_url_parameters_are_dropped_unread() -> None:
    state, notices = decode_state({"schema.num_tables": HOSTILE_RANGE, "k" * 5000: "1", "seed": "4"})
    assert state.seed == 4 and state.config == Config()
    assert len(notices) == 2
    assert all(f"longer than {MAX_PARAM_CHARS} characters" in n for n in notices)
    assert all(len(n) < 200 for n in notices)  # the value is not echoed


def test_many_bad_url_parameters_give_a_bounded_list_of_notices() -> None:
    state, notices = decode_state({f"unknown{i}": "1" for i in range(1000)})
    assert len(notices) == MAX_NOTICES
    assert notices[-1] == f"… and {1000 - MAX_NOTICES + 1:,} more parameters ignored"
    assert state.config == Config()


def test_valid_ranges_still_parse() -> None:
    spec = Config.spec("features.activation_log_scale")
    assert decode_value(spec, "-1-0.5") == (-1.0, 0.5)
    assert decode_value(spec, " -1 .. 2. ") == (-1.0, 2.0)
    assert decode_value(Config.spec("connectivity.across_affinity"), "1e-06-0.002") == (1e-06, 0.002)
    assert decode_value(Config.spec("schema.num_tables"), "5") == (5, 5)
