"""Everything the platform keeps, behind one class with plain synchronous methods (the web
handlers run them in a worker thread). The same statements run on PostgreSQL and SQLite.

Each method is one transaction. A message is recorded and applied together, so a crash never
marks a message seen without its effect, and the insert of its id is the de-duplication.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from base64 import b64encode
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, and_, delete, func, insert, or_, select, tuple_, update
from sqlalchemy.dialects import postgresql, sqlite

from community.db import (
    actions,
    alerts,
    enrolment_codes,
    households,
    messages,
    sessions,
    staff,
    staff_audit,
)

ALERT_TYPES = frozenset({"org.dhi.v1.alert.raised", "org.dhi.v1.alert.updated", "org.dhi.v1.alert.cleared"})
#: CAP severities, most severe first: the queue's first sort key
SEVERITY_ORDER = {"Extreme": 0, "Severe": 1, "Moderate": 2, "Minor": 3, "Unknown": 4}
ROLES = ("duty", "supervisor", "admin")
#: a user name staff type to sign in (also what the history shows when the name is unknown)
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
#: the actions whose news goes back to the home (the hub acknowledges the alert on either)
ACK_ACTIONS = ("acknowledge", "resolve")
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTVWXYZ"  # no 0/O, 1/I/L, U: read aloud over the phone
PBKDF2_ROUNDS = 200_000
#: the shortest password a staff member may choose (NIST SP 800-63B's floor)
MIN_PASSWORD = 8


class Conflict(Exception):
    """Someone else already did this (the message says who and when)."""

    def __init__(self, message: str, alert: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.alert = alert or {}


class NotFound(Exception):
    pass


class WrongPassword(Exception):
    """The current password given to change it is not the account's."""


@dataclass(frozen=True, slots=True)
class Outcome:
    duplicate: bool
    alert: dict[str, Any] | None  # the alert as staff see it, when the message changed one


def utc(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes: everything stored is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    v = utc(value)
    return v.isoformat().replace("+00:00", "Z") if v is not None else None


def parse_time(value: object, default: datetime) -> datetime:
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return default
    return when.astimezone(UTC) if when.tzinfo is not None else default


def normalise_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def code_hash(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def new_code() -> str:
    raw = "".join(secrets.choice(CODE_ALPHABET) for _ in range(12))
    return "-".join(raw[i : i + 4] for i in range(0, 12, 4))


def new_secret() -> str:
    return "whsec_" + b64encode(secrets.token_bytes(24)).decode()


def hash_password(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, PBKDF2_ROUNDS)
    return f"pbkdf2_sha256${PBKDF2_ROUNDS}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        _, rounds, salt, digest = stored.split("$")
        got = hashlib.pbkdf2_hmac("sha256", password.encode(), bytes.fromhex(salt), int(rounds))
    except ValueError:
        return False
    return hmac.compare_digest(got.hex(), digest)


def home_of(source: object) -> str:
    """``dhome://flat-12`` or ``dhome://flat-12/<device>`` → ``flat-12``."""
    return str(source).removeprefix("dhome://").split("/", 1)[0]


class Store:
    def __init__(self, engine: Engine, now: Any = None) -> None:
        self.engine = engine
        self._now = now or (lambda: datetime.now(UTC))
        dialect = sqlite if engine.dialect.name == "sqlite" else postgresql
        self._insert = dialect.insert

    def now(self) -> datetime:
        value: datetime = self._now()
        return value

    # ------------------------------------------------------------------ enrolment
    def create_code(self, label: str, by: str, ttl: timedelta) -> str:
        code = new_code()
        now = self.now()
        with self.engine.begin() as db:
            db.execute(
                insert(enrolment_codes).values(
                    code_hash=code_hash(code),
                    label=label,
                    created_by=by,
                    created_at=now,
                    expires_at=now + ttl,
                )
            )
        return code

    def redeem(self, code: str, home: str, household: dict[str, Any], consent: dict[str, Any]) -> str:
        """Use a code once: the household is (re-)enrolled with a fresh secret, returned."""
        now = self.now()
        secret = new_secret()
        with self.engine.begin() as db:
            used = db.execute(
                update(enrolment_codes)
                .where(
                    enrolment_codes.c.code_hash == code_hash(code),
                    enrolment_codes.c.used_at.is_(None),
                    enrolment_codes.c.expires_at > now,
                )
                .values(used_at=now, home=home)
            )
            if used.rowcount != 1:
                raise NotFound("the enrolment code is wrong, used or expired")
            row = {
                "name": household["name"],
                "address": household.get("address", ""),
                "contacts": household.get("contacts", []),
                "consent": consent,
                "secret": secret,
                "enrolled_at": now,
                "consent_changed_at": now,
                "withdrawn_at": None,
            }
            stmt = self._insert(households).values(home=home, **row)
            db.execute(stmt.on_conflict_do_update(index_elements=["home"], set_=row))
        return secret

    def add_home(self, home: str, name: str, secret: str, consent: dict[str, Any]) -> None:
        """A household whose hub was configured by hand (no enrolment code): its secret given."""
        row = {"name": name, "address": "", "contacts": [], "consent": consent, "secret": secret,
               "enrolled_at": self.now()}  # fmt: skip
        with self.engine.begin() as db:
            stmt = self._insert(households).values(home=home, **row)
            db.execute(stmt.on_conflict_do_update(index_elements=["home"], set_=row))

    def secret_of(self, home: str) -> str | None:
        found = self.credentials(home)
        return found[0] if found is not None else None

    def credentials(self, home: str) -> tuple[str, bool] | None:
        """(secret, withdrawn) of an enrolled home, in one query: a withdrawn home's signature
        still verifies (its last poll says so), but nothing more is taken from it."""
        with self.engine.connect() as db:
            row = db.execute(
                select(households.c.secret, households.c.withdrawn_at).where(households.c.home == home)
            ).first()
        return (str(row[0]), row[1] is not None) if row is not None else None

    def follow_consent(self, home: str, consent: dict[str, Any] | None) -> bool:
        """The resident's consent as the hub's link states it (spec §9.4); None: withdrawn.
        A withdrawal erases the address and contacts the resident gave (the name stays, so staff
        know whom the history is about) and is final until the home enrols again with a new code.
        True when the record changed."""
        now = self.now()
        with self.engine.begin() as db:
            row = db.execute(
                select(households.c.consent, households.c.withdrawn_at).where(households.c.home == home)
            ).first()
            if row is None or row.withdrawn_at is not None:
                return False  # unknown, or already withdrawn (a late poll does not undo it)
            if consent is None:
                values: dict[str, Any] = {"withdrawn_at": now, "consent_changed_at": now, "address": "",
                                          "contacts": [], "consent": {"alert_kinds": [], "fields": []}}  # fmt: skip
            elif row.consent == consent:
                return False
            else:
                values = {"consent": consent, "consent_changed_at": now}
            db.execute(update(households).where(households.c.home == home).values(**values))
        return True

    # ------------------------------------------------------------------ intake
    def receive(self, message_id: str, home: str, event: dict[str, Any]) -> Outcome:
        with self.engine.begin() as db:
            return self._receive(db, message_id, home, event, self.now())

    def receive_batch(
        self, items: list[tuple[str, str, dict[str, Any]]], *, views: bool = True
    ) -> list[Outcome]:
        """Several messages (id, home, event) in one transaction — all stored or none: a queue
        consumer acknowledges them after this returns, or lets them be redelivered — with the
        same outcome as ``receive`` one by one, in a handful of round trips instead of three or
        four per message. Without ``views`` the outcomes carry no alert (one query less each)."""
        if not items:
            return []
        now = self.now()
        with self.engine.begin() as db:
            rows = [{"id": mid, "home": home, "type": str(ev.get("type", "")), "received_at": now}
                    for mid, home, ev in items]  # fmt: skip
            # RETURNING, not rowcount (psycopg says -1); a second copy of an id in the batch is skipped
            fresh = set(
                db.scalars(
                    self._insert(messages).values(rows).on_conflict_do_nothing(index_elements=["id"])
                    .returning(messages.c.id)
                )
            )  # fmt: skip
            out: list[Outcome] = []
            todo: list[tuple[int, str, dict[str, Any], datetime]] = []
            for mid, home, ev in items:
                if mid not in fresh:
                    out.append(Outcome(duplicate=True, alert=None))
                    continue
                fresh.discard(mid)  # the first copy is the stored one
                out.append(Outcome(duplicate=False, alert=None))
                data = ev.get("data")
                alert = (
                    data.get("alert") if isinstance(data, dict) and ev.get("type") in ALERT_TYPES else None
                )
                if isinstance(alert, dict) and isinstance(alert.get("id"), str):
                    todo.append((len(out) - 1, home, alert, parse_time(ev.get("time"), now)))
            seen = {home for (_, home, _), o in zip(items, out, strict=True) if not o.duplicate}
            if seen:  # once per home, not per message
                db.execute(update(households).where(households.c.home.in_(seen)).values(last_seen=now))
            keys = {(home, alert["id"]) for _, home, alert, _ in todo}
            known = {
                (str(r[0]), str(r[1]))
                for r in db.execute(
                    select(alerts.c.home, alerts.c.alert_id).where(tuple_(alerts.c.home, alerts.c.alert_id).in_(keys))
                )
            } if keys else set()  # fmt: skip
            new_rows, later = [], []
            for i, home, alert, message_time in todo:
                if (home, alert["id"]) in known:
                    later.append((i, home, alert, message_time))
                else:  # a new alert (the common case): inserted with the others in one go
                    known.add((home, alert["id"]))
                    new_rows.append(_new_alert(home, alert, message_time))
            if new_rows:
                db.execute(insert(alerts), new_rows)
            changed = {i for i, *_ in todo} - {i for i, *_ in later}
            changed |= {i for i, home, alert, mt in later if self._apply(db, home, alert, mt, now)}
            if views:
                for i, home, alert, _ in todo:
                    if i in changed:
                        out[i] = Outcome(duplicate=False, alert=self._alert(db, home, alert["id"]))
        return out

    def _receive(
        self, db: Connection, message_id: str, home: str, event: dict[str, Any], now: datetime
    ) -> Outcome:
        msg_type = str(event.get("type", ""))
        # RETURNING, not rowcount: psycopg reports -1 for an INSERT … ON CONFLICT
        taken = db.execute(
            self._insert(messages)
            .values(id=message_id, home=home, type=msg_type, received_at=now)
            .on_conflict_do_nothing(index_elements=["id"])
            .returning(messages.c.id)
        ).first()
        if taken is None:
            return Outcome(duplicate=True, alert=None)
        db.execute(update(households).where(households.c.home == home).values(last_seen=now))
        data = event.get("data")
        alert = data.get("alert") if isinstance(data, dict) and msg_type in ALERT_TYPES else None
        if not isinstance(alert, dict) or not isinstance(alert.get("id"), str):
            return Outcome(duplicate=False, alert=None)
        changed = self._apply(db, home, alert, parse_time(event.get("time"), now), now)
        view = self._alert(db, home, alert["id"]) if changed else None
        return Outcome(duplicate=False, alert=view)

    def enrolled(self, homes: set[str]) -> set[str]:
        """Which of these homes are enrolled here and still share (one query for a batch)."""
        if not homes:
            return set()
        with self.engine.connect() as db:
            rows = db.execute(
                select(households.c.home).where(
                    households.c.home.in_(homes), households.c.withdrawn_at.is_(None)
                )
            )
            return {str(r[0]) for r in rows}

    def _apply(
        self, db: Connection, home: str, alert: dict[str, Any], message_time: datetime, now: datetime
    ) -> bool:
        key = and_(alerts.c.home == home, alerts.c.alert_id == alert["id"])
        known = db.execute(select(alerts.c.message_time).where(key)).first()
        if known is None:
            db.execute(insert(alerts).values(**_new_alert(home, alert, message_time)))
            return True
        fields = _alert_fields(alert, message_time)
        if utc(known[0]) is not None and utc(known[0]) > message_time:  # type: ignore[operator]
            return False  # an older message arriving late (a retry): the newer state stays
        db.execute(update(alerts).where(key).values(**fields, version=alerts.c.version + 1))
        return True

    # ------------------------------------------------------------------ staff actions
    def act(
        self, home: str, alert_id: str, who: str, action: str, *, note: str = "", to: str | None = None,
        name: str | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """acknowledge / assign / resolve / note, as one conditional update: of two staff acting at
        once exactly one wins; the other gets ``Conflict`` with the alert showing who took it.
        ``who`` is the user name (history), ``name`` what colleagues and the home are shown."""
        now = self.now()
        shown_as = name or who
        key = and_(alerts.c.home == home, alerts.c.alert_id == alert_id)
        changes: dict[str, tuple[Any, dict[str, Any]]] = {
            "acknowledge": (alerts.c.desk == "open", {"desk": "acknowledged", "acked_by": shown_as, "acked_at": now}),
            "assign": (alerts.c.desk != "resolved", {"assignee": to}),
            "resolve": (
                alerts.c.desk != "resolved",
                {"desk": "resolved", "resolved_by": shown_as, "resolved_at": now,
                 "acked_by": func.coalesce(alerts.c.acked_by, shown_as), "acked_at": func.coalesce(alerts.c.acked_at, now)},
            ),
            "note": (alerts.c.home == home, {}),
        }  # fmt: skip
        condition, values = changes[action]
        with self.engine.begin() as db:
            if self._alert(db, home, alert_id) is None:
                raise NotFound(f"no alert {alert_id!r} from home {home!r}")
            lost = (
                bool(values)
                and db.execute(
                    update(alerts).where(key, condition).values(**values, version=alerts.c.version + 1)
                ).rowcount
                != 1
            )
            if not lost:
                db.execute(insert(actions).values(home=home, alert_id=alert_id, staff=who, action=action,
                                                  note=note if to is None else f"→ {to} {note}".strip(), at=now))  # fmt: skip
        # read after the transaction: the winner's commit is visible whatever the database
        view = self.alert(home, alert_id)
        assert view is not None
        if lost:
            raise Conflict(_taken_message(view), view)
        return view

    def escalate_due(self, older_than: timedelta) -> list[dict[str, Any]]:
        """Open alerts nobody acknowledged in time go to the supervisors (once)."""
        now = self.now()
        cutoff = now - older_than
        with self.engine.begin() as db:
            due = db.execute(
                select(alerts.c.home, alerts.c.alert_id).where(
                    alerts.c.desk == "open", alerts.c.escalated_at.is_(None), alerts.c.first_seen < cutoff
                )
            ).all()
            shown = []
            for home, alert_id in due:
                won = db.execute(
                    update(alerts)
                    .where(
                        alerts.c.home == home, alerts.c.alert_id == alert_id, alerts.c.escalated_at.is_(None)
                    )
                    .values(escalated_at=now, version=alerts.c.version + 1)
                )
                if won.rowcount != 1:
                    continue  # another worker process escalated it
                db.execute(insert(actions).values(home=home, alert_id=alert_id, staff="system", action="escalate",
                                                  note="supervisor", at=now))  # fmt: skip
                view = self._alert(db, home, alert_id)
                if view is not None:
                    shown.append(view)
        return shown

    def acks_after(self, home: str, after: int, limit: int = 100) -> list[dict[str, Any]]:
        """The acknowledgements (and resolutions) for one home, for its hub's poll."""
        with self.engine.connect() as db:
            rows = db.execute(
                select(actions.c.seq, actions.c.alert_id, actions.c.action, actions.c.at, staff.c.display_name,
                       actions.c.staff)
                .join(staff, staff.c.username == actions.c.staff, isouter=True)
                .where(actions.c.home == home, actions.c.seq > after, actions.c.action.in_(ACK_ACTIONS))
                .order_by(actions.c.seq)
                .limit(limit)
            ).all()  # fmt: skip
        return [
            {
                "seq": r.seq,
                "alert_id": r.alert_id,
                "action": r.action,
                "at": iso(r.at),
                "by": r.display_name or r.staff,
            }
            for r in rows
        ]

    # ------------------------------------------------------------------ reading
    def alert(self, home: str, alert_id: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            return self._alert(db, home, alert_id)

    def _alert(self, db: Connection, home: str, alert_id: str) -> dict[str, Any] | None:
        row = db.execute(_alert_select().where(alerts.c.home == home, alerts.c.alert_id == alert_id)).first()
        return _view(row) if row is not None else None

    def queue(self) -> list[dict[str, Any]]:
        """Alerts staff still have to deal with: most severe first, then oldest first."""
        with self.engine.connect() as db:
            rows = db.execute(_alert_select().where(alerts.c.desk != "resolved")).all()
        items = [_view(r) for r in rows]
        items.sort(key=lambda a: (SEVERITY_ORDER.get(a["severity"], 9), a["first_seen"]))
        return items

    def active_alerts(self) -> list[dict[str, Any]]:
        """Alerts still active at the home or open at the desk (the CAP feed)."""
        with self.engine.connect() as db:
            rows = db.execute(
                _alert_select()
                .where(or_(alerts.c.desk != "resolved", alerts.c.hub_state == "active"))
                .where(households.c.withdrawn_at.is_(None))  # not passed on once consent is withdrawn
                .order_by(alerts.c.first_seen)
            ).all()
        return [_view(r) for r in rows]

    def all_alerts(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Every alert of a household that still shares (the exports)."""
        stmt = _alert_select().where(households.c.withdrawn_at.is_(None)).order_by(alerts.c.first_seen)
        if since is not None:
            stmt = stmt.where(alerts.c.first_seen >= since)
        with self.engine.connect() as db:
            return [_view(r) for r in db.execute(stmt).all()]

    def history(self, home: str, limit: int = 200) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(
                select(actions).where(actions.c.home == home).order_by(actions.c.seq.desc()).limit(limit)
            ).all()
        return [{"seq": r.seq, "alert_id": r.alert_id, "staff": r.staff, "action": r.action, "note": r.note,
                 "at": iso(r.at)} for r in rows]  # fmt: skip

    def households(self) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(households).order_by(households.c.home)).all()
            open_counts: dict[str, int] = dict(
                db.execute(
                    select(alerts.c.home, func.count())
                    .where(alerts.c.desk != "resolved")
                    .group_by(alerts.c.home)
                ).all()
            )
        return [
            {"home": r.home, "name": r.name, "address": r.address, "contacts": r.contacts, "consent": r.consent,
             "sharing": r.withdrawn_at is None, "consent_changed_at": iso(r.consent_changed_at),
             "withdrawn_at": iso(r.withdrawn_at),
             "enrolled_at": iso(r.enrolled_at), "last_seen": iso(r.last_seen), "open_alerts": open_counts.get(r.home, 0)}
            for r in rows
        ]  # fmt: skip

    def stats(self) -> dict[str, Any]:
        with self.engine.connect() as db:
            by_kind = db.execute(select(alerts.c.kind, func.count()).group_by(alerts.c.kind)).all()
            by_home = db.execute(select(alerts.c.home, func.count()).group_by(alerts.c.home)).all()
            by_desk = db.execute(select(alerts.c.desk, func.count()).group_by(alerts.c.desk)).all()
            total = db.scalar(select(func.count()).select_from(messages)) or 0
        return {
            "messages": int(total),
            "by_kind": {k: int(n) for k, n in by_kind},
            "by_home": {k: int(n) for k, n in by_home},
            "by_desk": {k: int(n) for k, n in by_desk},
        }

    def counts(self) -> dict[str, int]:
        """Row counts (the loss/duplicate checks of the tests and the metrics)."""
        with self.engine.connect() as db:
            return {
                t.name: int(db.scalar(select(func.count()).select_from(t)) or 0)
                for t in (messages, alerts, actions, households)
            }

    # ------------------------------------------------------------------ staff and sessions
    def add_staff(self, username: str, display_name: str, role: str, password: str) -> None:
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        # the operator typed this password for its owner at the server: no change is forced
        row = {"display_name": display_name, "role": role, "password_hash": hash_password(password),
               "must_change_password": False}  # fmt: skip
        with self.engine.begin() as db:
            db.execute(
                self._insert(staff).values(username=username, **row)
                .on_conflict_do_update(index_elements=["username"], set_=row)
            )  # fmt: skip

    def create_staff(self, actor: str, username: str, display_name: str, role: str) -> str:
        """A new account made by an admin from the console, with a random initial password that
        is returned once (only its hash is kept); audited. Conflict if the user name is taken."""
        if role not in ROLES:
            raise ValueError(f"role: one of {', '.join(ROLES)}, not {role!r}")
        if not USERNAME.match(username):
            raise ValueError("username: 2 to 64 of a-z 0-9 . _ - (starting with a letter or digit)")
        if not display_name.strip() or len(display_name) > 100:
            raise ValueError("name: 1 to 100 characters")
        password = secrets.token_urlsafe(12)
        now = self.now()
        with self.engine.begin() as db:
            if db.scalar(select(staff.c.username).where(staff.c.username == username)) is not None:
                raise Conflict(f"user name {username!r} is taken")
            db.execute(insert(staff).values(username=username, display_name=display_name.strip(), role=role,
                                            password_hash=hash_password(password),
                                            must_change_password=True))  # fmt: skip
            db.execute(insert(staff_audit).values(at=now, actor=actor, action="created", username=username,
                                                  detail={"role": role, "name": display_name.strip()}))  # fmt: skip
        return password

    def disable_staff(self, actor: str, username: str) -> None:
        """An admin disables an account: it cannot sign in and its sessions end now; audited.
        NotFound for an unknown user name; Conflict for one's own account."""
        if username == actor:
            raise Conflict("an admin cannot disable their own account")
        now = self.now()
        with self.engine.begin() as db:
            row = db.execute(select(staff.c.disabled_at).where(staff.c.username == username)).first()
            if row is None:
                raise NotFound(f"no staff account {username!r}")
            if row.disabled_at is not None:
                return
            db.execute(update(staff).where(staff.c.username == username).values(disabled_at=now))
            db.execute(delete(sessions).where(sessions.c.username == username))
            db.execute(insert(staff_audit).values(at=now, actor=actor, action="disabled", username=username,
                                                  detail={}))  # fmt: skip

    def staff_accounts(self) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(
                select(staff.c.username, staff.c.display_name, staff.c.role, staff.c.disabled_at).order_by(
                    staff.c.username
                )
            ).all()
        return [{"username": r.username, "name": r.display_name, "role": r.role,
                 "disabled_at": iso(r.disabled_at)} for r in rows]  # fmt: skip

    def staff_audit(self, limit: int = 100) -> list[dict[str, Any]]:
        with self.engine.connect() as db:
            rows = db.execute(select(staff_audit).order_by(staff_audit.c.seq.desc()).limit(limit)).all()
        return [{"seq": r.seq, "at": iso(r.at), "actor": r.actor, "action": r.action, "username": r.username,
                 "detail": r.detail} for r in rows]  # fmt: skip

    def sign_in(self, username: str, password: str, ttl: timedelta) -> str | None:
        with self.engine.begin() as db:
            stored = db.scalar(
                select(staff.c.password_hash).where(
                    staff.c.username == username, staff.c.disabled_at.is_(None)
                )
            )
            if stored is None or not check_password(password, stored):
                return None
            token = secrets.token_urlsafe(32)
            db.execute(
                insert(sessions).values(
                    token_hash=_sha(token), username=username, expires_at=self.now() + ttl
                )
            )
        return token

    def change_password(self, token: str, current: str, new: str) -> None:
        """The signed-in staff member replaces their password: the current one is checked, the
        new one must be at least ``MIN_PASSWORD`` characters and differ from it and from the user
        name. Every other session of the account ends (one left signed in elsewhere, perhaps by
        whoever knew the old password); audited. WrongPassword / ValueError ("new: ...")."""
        if len(new) < MIN_PASSWORD:
            raise ValueError(f"new: a password has at least {MIN_PASSWORD} characters")
        if new == current:
            raise ValueError("new: the new password is the current one")
        now = self.now()
        with self.engine.begin() as db:
            row = db.execute(
                select(staff.c.username, staff.c.password_hash)
                .join(sessions, sessions.c.username == staff.c.username)
                .where(sessions.c.token_hash == _sha(token), sessions.c.expires_at > now,
                       staff.c.disabled_at.is_(None))
            ).first()  # fmt: skip
            if row is None:
                raise NotFound("no such session")
            if not check_password(current, row.password_hash):
                raise WrongPassword("the current password is not right")
            if new.casefold() == row.username.casefold():
                raise ValueError("new: the password cannot be the user name")
            db.execute(update(staff).where(staff.c.username == row.username)
                       .values(password_hash=hash_password(new), must_change_password=False))  # fmt: skip
            db.execute(delete(sessions).where(sessions.c.username == row.username,
                                              sessions.c.token_hash != _sha(token)))  # fmt: skip
            db.execute(insert(staff_audit).values(at=now, actor=row.username, action="password",
                                                  username=row.username, detail={}))  # fmt: skip

    def session(self, token: str) -> dict[str, Any] | None:
        with self.engine.connect() as db:
            row = db.execute(
                select(staff.c.username, staff.c.display_name, staff.c.role, staff.c.must_change_password)
                .join(sessions, sessions.c.username == staff.c.username)
                .where(
                    sessions.c.token_hash == _sha(token),
                    sessions.c.expires_at > self.now(),
                    staff.c.disabled_at.is_(None),
                )
            ).first()
        if row is None:
            return None
        return {"username": row.username, "name": row.display_name, "role": row.role,
                "must_change_password": bool(row.must_change_password)}  # fmt: skip

    def sign_out(self, token: str) -> None:
        with self.engine.begin() as db:
            db.execute(delete(sessions).where(sessions.c.token_hash == _sha(token)))

    # ------------------------------------------------------------------ retention
    def purge(self, older_than: timedelta) -> dict[str, int]:
        """Drop what the retention setting no longer allows: resolved alerts (and their actions)
        and message ids older than the limit. Open alerts are kept whatever their age."""
        cutoff = self.now() - older_than
        with self.engine.begin() as db:
            old = select(alerts.c.home, alerts.c.alert_id).where(
                alerts.c.desk == "resolved", alerts.c.resolved_at < cutoff
            )
            gone = db.execute(old).all()
            for home, alert_id in gone:
                db.execute(delete(actions).where(actions.c.home == home, actions.c.alert_id == alert_id))
                db.execute(delete(alerts).where(alerts.c.home == home, alerts.c.alert_id == alert_id))
            msgs = db.execute(delete(messages).where(messages.c.received_at < cutoff)).rowcount
            db.execute(delete(sessions).where(sessions.c.expires_at < self.now()))
        return {"alerts": len(gone), "messages": int(msgs)}


def _alert_fields(alert: dict[str, Any], message_time: datetime) -> dict[str, Any]:
    return {
        "kind": str(alert.get("kind", "unknown"))[:40],
        "severity": str(alert.get("severity", "Unknown"))[:20],
        "hub_state": str(alert.get("state", "active"))[:20],
        "message_time": message_time,
        "body": alert,
    }


def _new_alert(home: str, alert: dict[str, Any], message_time: datetime) -> dict[str, Any]:
    first = parse_time(alert.get("first_seen"), message_time)
    return {"home": home, "alert_id": alert["id"], "desk": "open", "first_seen": first,
            **_alert_fields(alert, message_time)}  # fmt: skip


def _sha(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _alert_select() -> Any:
    return select(alerts, households.c.name.label("household")).join(
        households, households.c.home == alerts.c.home, isouter=True
    )


def _view(row: Any) -> dict[str, Any]:
    body = dict(row.body)
    return {
        **body,
        "home": row.home,
        "id": row.alert_id,
        "household": row.household,
        "kind": row.kind,
        "severity": row.severity,
        "hub_state": row.hub_state,
        "desk": row.desk,
        "assignee": row.assignee,
        "acked_by": row.acked_by,
        "acked_at": iso(row.acked_at),
        "resolved_by": row.resolved_by,
        "resolved_at": iso(row.resolved_at),
        "escalated_at": iso(row.escalated_at),
        "first_seen": iso(row.first_seen),
        "version": row.version,
    }


def _taken_message(current: dict[str, Any]) -> str:
    if current["desk"] == "resolved":
        return f"already resolved by {current['resolved_by']} at {current['resolved_at']}"
    return f"already acknowledged by {current['acked_by']} at {current['acked_at']}"
