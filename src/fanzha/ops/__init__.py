"""Operations (运营处置): the transactional store of warnings and dissuasion (预警劝阻), fund-control
commands (资金查控), refunds of frozen money (冻结资金返还), block/allow lists and the audit log.

Service modules (``warnings``, ``fundcontrol``, ``refunds``, ``lists``, ``audit``, ``stats``) take a
:class:`~fanzha.ops.store.Store` and an :class:`~fanzha.ops.audit.Actor`; they know nothing of HTTP
and raise :mod:`fanzha.errors` classes. See docs/ops.md.
"""
