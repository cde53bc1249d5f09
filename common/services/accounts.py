import logging
from datetime import UTC, datetime

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from common.db import execute_core, run_after_commit
from common.models import Factory, Role, Supplier, User
from common.security import burn_password_check, hash_password, verify_password
from common.services.errors import Conflict, Invalid, NotFound, Unauthorized
from common.services.pagination import PageData, paginate

BAD_CREDENTIALS = "Incorrect email or password"
log = logging.getLogger(__name__)
_DEACTIVATED_KEY = "partpulse.deactivated_users"


def normalize_email(email: str) -> str:
    return email.strip().lower()


def authenticate(session: Session, *, email: str, password: str) -> User:
    user = session.scalar(select(User).where(User.email == normalize_email(email)))
    if user is None:
        burn_password_check(password)
        raise Unauthorized(BAD_CREDENTIALS)
    if not verify_password(password, user.password_hash) or not user.is_active:
        raise Unauthorized(BAD_CREDENTIALS)
    return user


def get_active_user(session: Session, user_id: int) -> User | None:
    # An ORM load: a prepared SELECT attached as loaded (common.db.attach_as_loaded)
    # was measured no cheaper for a row this wide (bench/hot_path.py).
    user = session.get(User, user_id)
    return user if user is not None and user.is_active else None


def active_roles(session: Session, user_ids: set[int]) -> dict[int, str]:
    """The role of each active user among user_ids, in one query of two columns.

    No ORM objects: checking a group of callers needs their roles only, and
    loading whole users cost the group commit more CPU than its INSERT.
    """
    rows = execute_core(session, _ACTIVE_ROLES, {"ids": list(user_ids)})
    return {row.id: row.role for row in rows}


_ACTIVE_ROLES = select(User.id, User.role).where(
    User.id.in_(bindparam("ids", expanding=True)), User.is_active
)


def active_roles_since(session: Session, user_ids: set[int]) -> dict[int, tuple[str, datetime | None]]:
    """active_roles with each user's last deactivation (its tokens before it stay refused)."""
    rows = execute_core(session, _ACTIVE_ROLES_SINCE, {"ids": list(user_ids)})
    return {row.id: (row.role, _aware(row.deactivated_at)) for row in rows}


def _aware(moment: datetime | None) -> datetime | None:
    return moment.replace(tzinfo=UTC) if moment is not None and moment.tzinfo is None else moment


_ACTIVE_ROLES_SINCE = select(User.id, User.role, User.deactivated_at).where(
    User.id.in_(bindparam("ids", expanding=True)), User.is_active
)


def create_user(
    session: Session,
    *,
    email: str,
    password: str,
    full_name: str,
    role: Role,
    factory_id: int | None = None,
    supplier_id: int | None = None,
    is_manager: bool = False,
) -> User:
    email = normalize_email(email)
    _check_affiliation(session, role, factory_id, supplier_id)
    if session.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise Conflict(f"A user with email {email} already exists")
    user = User(
        email=email,
        password_hash=hash_password(password),
        full_name=full_name.strip(),
        role=role.value,
        factory_id=factory_id if role == Role.BUYER else None,
        supplier_id=supplier_id if role == Role.SUPPLIER else None,
        is_manager=is_manager,
    )
    session.add(user)
    session.flush()
    return user


def _check_affiliation(session: Session, role: Role, factory_id: int | None, supplier_id: int | None) -> None:
    if role == Role.BUYER:
        if factory_id is None:
            raise Invalid("A buyer needs a factory_id")
        if session.get(Factory, factory_id) is None:
            raise NotFound(f"Factory {factory_id} not found")
    if role == Role.SUPPLIER:
        if supplier_id is None:
            raise Invalid("A supplier needs a supplier_id")
        if session.get(Supplier, supplier_id) is None:
            raise NotFound(f"Supplier {supplier_id} not found")
    if role != Role.BUYER and factory_id is not None:
        raise Invalid("Only buyers belong to a factory")
    if role != Role.SUPPLIER and supplier_id is not None:
        raise Invalid("Only suppliers belong to a supplier company")


def list_users(session: Session, *, limit: int, offset: int) -> PageData[User]:
    return paginate(session, select(User).order_by(User.id), limit=limit, offset=offset)


def update_user(
    session: Session,
    admin: User,
    user_id: int,
    *,
    full_name: str | None,
    is_active: bool | None,
    is_manager: bool | None = None,
) -> User:
    """Renames or (de)activates a user. A deactivated user's tokens stop working at once
    (every request and socket connect reads is_active); once committed, a notice on the
    user's room channel makes every gateway holding its sockets close them (issue 21;
    the gateways' slow sweep catches a notice lost to a Redis outage); the pipeline
    never picks it as a recipient."""
    user = session.get(User, user_id, with_for_update=True)
    if user is None:
        raise NotFound(f"No user with id {user_id}")
    if is_active is False and user.id == admin.id:
        raise Conflict("You cannot deactivate your own account")
    if full_name is not None:
        user.full_name = full_name.strip()
    if is_manager is not None:
        user.is_manager = is_manager
    if is_active is not None:
        if user.is_active and not is_active:
            user.deactivated_at = datetime.now(UTC)  # every token issued before it ends
            _announce_after_commit(session, user.id, user.deactivated_at)
        user.is_active = is_active
    session.flush()
    return user


def _announce_after_commit(session: Session, user_id: int, at: datetime) -> None:
    session.info.setdefault(_DEACTIVATED_KEY, {})[user_id] = at.timestamp()
    run_after_commit(session, _announce_deactivations, on_rollback=_forget_deactivations)


def _forget_deactivations(session: Session) -> None:
    session.info.pop(_DEACTIVATED_KEY, None)


def _announce_deactivations(session: Session) -> None:
    from common.events.publisher import publish_deactivations

    pending: dict[int, float] = session.info.pop(_DEACTIVATED_KEY, {})
    try:
        publish_deactivations(sorted(pending.items()))
    except Exception as exc:  # committed already: the gateways' sweep closes the sockets
        log.warning("could not announce deactivations %s (%s)", sorted(pending), exc)
