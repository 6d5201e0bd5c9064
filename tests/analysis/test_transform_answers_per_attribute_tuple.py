"""``transform_facts`` answers once per distinct attributes: a tuple of records (what the engine
shares between the transforms of the same bytes) by the tuple, a list by its records. Each tuple
and each list still gets the answer read from its own records."""

from __future__ import annotations

from ikedecode.analysis.checks.transform_facts import attribute_values, lifetimes, policy_key
from ikedecode.ike.registries import LIFE_DURATION, LIFE_TYPE
from ikedecode.ike.v1.attributes import IKE_CONTEXT, Attribute
from ikedecode.ike.v1.payloads import Transform

# RFC 2409 Appendix A: encryption 1, hash 2, authentication 3, group 4, life type 11, duration 12
ONE_HOUR = ((1, 7), (2, 4), (3, 1), (4, 14), (11, 1), (12, 3600))
ONE_DAY = ((1, 5), (2, 2), (3, 1), (4, 2), (11, 1), (12, 86400))


def records(pairs: tuple[tuple[int, int], ...]) -> list[Attribute]:
    return [Attribute(t, v, True, IKE_CONTEXT) for t, v in pairs]


def test_each_tuple_of_records_gets_its_own_answers():
    hour, day = Transform(1, 1, tuple(records(ONE_HOUR))), Transform(1, 1, tuple(records(ONE_DAY)))
    for _ in range(2):  # the second round is answered from what the first remembered
        assert lifetimes(hour, LIFE_TYPE, LIFE_DURATION) == {"seconds": 3600}
        assert lifetimes(day, LIFE_TYPE, LIFE_DURATION) == {"seconds": 86400}
        assert policy_key(hour) == (7, None, 4, 1, 14)
        assert policy_key(day) == (5, None, 2, 1, 2)


def test_a_tuple_and_a_list_of_the_same_records_answer_alike():
    shared = tuple(records(ONE_HOUR))
    as_tuple, as_list = Transform(1, 1, shared), Transform(1, 1, list(shared))
    assert attribute_values(as_tuple) == attribute_values(as_list) == dict(ONE_HOUR)
    assert policy_key(as_tuple) == policy_key(as_list)


def test_a_list_changed_after_a_question_is_answered_anew():
    attributes = records(ONE_HOUR)
    transform = Transform(1, 1, attributes)
    assert lifetimes(transform, LIFE_TYPE, LIFE_DURATION) == {"seconds": 3600}
    attributes[-1] = Attribute(12, 600, True, IKE_CONTEXT)
    assert lifetimes(transform, LIFE_TYPE, LIFE_DURATION) == {"seconds": 600}


def test_callers_get_their_own_dicts():
    transform = Transform(1, 1, tuple(records(ONE_HOUR)))
    lifetimes(transform, LIFE_TYPE, LIFE_DURATION)["seconds"] = 1
    attribute_values(transform)[1] = 0
    assert lifetimes(transform, LIFE_TYPE, LIFE_DURATION) == {"seconds": 3600}
    assert attribute_values(transform)[1] == 7
