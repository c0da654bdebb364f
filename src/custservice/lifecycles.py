"""The built-in lifecycles, as plain data built with the lifecycle engine.

- :data:`CUSTOMER_LIFECYCLE`: a customer is won from prospect, grows in value,
  may become an advocate, may drift to risk and churn, and may be won back.
- :data:`INTERACTION_CYCLE`: one interaction, from being ready for the
  customer to following up; it can be closed from any stage.
- :data:`CASE_LIFECYCLE`: the status of a case, as the customer is told it.

Each is an ordinary :class:`~custservice.lifecycle.Lifecycle`; define your
own the same way.
"""

from __future__ import annotations

from .enums import CaseStatus, CustomerStage, InteractionStage
from .lifecycle import Lifecycle, Transition

__all__ = ["CASE_LIFECYCLE", "CUSTOMER_LIFECYCLE", "INTERACTION_CYCLE"]

_C = CustomerStage
_I = InteractionStage
_S = CaseStatus

CUSTOMER_LIFECYCLE = Lifecycle(
    "customer",
    initial=_C.PROSPECT,
    transitions=[
        Transition("acquire", _C.PROSPECT, _C.NEW),
        Transition("retain", _C.NEW, _C.ACTIVE),
        Transition("reward", _C.ACTIVE, _C.LOYAL),
        Transition("champion", [_C.ACTIVE, _C.LOYAL], _C.ADVOCATE),
        Transition("flag_risk", [_C.NEW, _C.ACTIVE, _C.LOYAL, _C.ADVOCATE], _C.AT_RISK),
        Transition("recover", _C.AT_RISK, _C.ACTIVE),
        Transition("churn", [_C.NEW, _C.ACTIVE, _C.LOYAL, _C.ADVOCATE, _C.AT_RISK], _C.CHURNED),
        Transition("win_back", _C.CHURNED, _C.NEW),
    ],
)
"""The customer lifecycle (states are :class:`~custservice.enums.CustomerStage` members).

Acquiring a customer costs more than keeping one. A customer is won from
``PROSPECT`` (``acquire``), kept past break-even (``retain``), grows in value
(``reward``), may become an ``ADVOCATE`` (``champion``), may drift
``AT_RISK`` (``flag_risk``) and be recovered (``recover``), may leave
(``churn``) and may be won back (``win_back``). No state is final: a churned
customer can always be won back.
"""

INTERACTION_CYCLE = Lifecycle(
    "interaction",
    initial=_I.READY,
    transitions=[
        Transition("receive", _I.READY, _I.RECEIVING),
        Transition("understand", _I.RECEIVING, _I.UNDERSTANDING),
        Transition("help", _I.UNDERSTANDING, _I.HELPING),
        Transition("clarify", _I.HELPING, _I.UNDERSTANDING),
        Transition("keep", _I.HELPING, _I.KEEPING),
        Transition("follow_up", _I.KEEPING, _I.FOLLOW_UP),
        Transition("close", [s for s in _I if s is not _I.CLOSED], _I.CLOSED),
    ],
    final=[_I.CLOSED],
)
"""The customer interaction cycle (states are :class:`~custservice.enums.InteractionStage` members).

Be ready (``READY``: queued), receive the customer (welcome, set
expectations), understand (listen, ask, confirm facts and feelings), help,
keep (make sure the customer stays a customer), follow up. ``clarify`` goes
back from helping to understanding; ``close`` ends the interaction from any
stage. ``CLOSED`` is final.
"""

CASE_LIFECYCLE = Lifecycle(
    "case",
    initial=_S.NEW,
    transitions=[
        Transition("open", _S.NEW, _S.OPEN),
        Transition("await_customer", _S.OPEN, _S.PENDING),
        Transition("hold", _S.OPEN, _S.ON_HOLD),
        Transition("resume", [_S.PENDING, _S.ON_HOLD], _S.OPEN),
        Transition("solve", [_S.NEW, _S.OPEN, _S.PENDING, _S.ON_HOLD], _S.SOLVED),
        Transition("reopen", _S.SOLVED, _S.OPEN),
        Transition("close", _S.SOLVED, _S.CLOSED),
    ],
    final=[_S.CLOSED],
)
"""The status of a case (states are :class:`~custservice.enums.CaseStatus` members).

``NEW`` until someone ``open`` s it; ``PENDING`` while waiting on the
customer (``await_customer``), ``ON_HOLD`` while waiting on a third party
(``hold``), both left by ``resume``; ``solve`` from any of these; a solved
case can be reopened (``reopen``) until it is ``close`` d. ``CLOSED`` is final.
"""
