"""Single-use form ids (admin_ui/once.py): pure, with a fake clock."""

from __future__ import annotations

from admin_ui.once import UsedFormIds, new_form_id


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_an_id_is_accepted_once_until_its_ttl_passes() -> None:
    clock = Clock()
    used = UsedFormIds(ttl=3600, clock=clock)
    form_id = new_form_id()
    assert used.claim(form_id)
    clock.now = 3599
    assert not used.claim(form_id)
    clock.now = 3600
    assert used.claim(form_id)


def test_a_released_claim_can_be_made_again() -> None:
    used = UsedFormIds()
    form_id = new_form_id()
    assert used.claim(form_id)
    used.release(form_id)
    assert used.claim(form_id)


def test_memory_is_bounded_by_forgetting_the_oldest() -> None:
    used = UsedFormIds(max_ids=3)
    ids = [new_form_id() for _ in range(4)]
    assert all(used.claim(form_id) for form_id in ids)
    assert used.claim(ids[0])  # forgotten: errs towards creating, never towards refusing
    assert not used.claim(ids[3])


def test_malformed_ids_are_never_accepted() -> None:
    used = UsedFormIds()
    for bad in ("", "short", "x" * 65, "a b c d e f g h i j", "é" * 20):
        assert not used.claim(bad)
