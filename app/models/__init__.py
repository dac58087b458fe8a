"""The data model, one module per aggregate; importing this package registers every table."""

from app.models.account import Account, AccountDomain, Contact
from app.models.agent import Agent, RecoveryCode
from app.models.audit import AuditEntry
from app.models.change import TicketChange
from app.models.consent import Consent
from app.models.draft import ReplyDraft, TicketPresence
from app.models.grant import AccessRequest, AccessToken
from app.models.mailbox import Mailbox, MailboxFolder, MailboxOAuth
from app.models.message import Attachment, Message, MessageLocation
from app.models.notification import Notification, NotificationPreference
from app.models.policy import PolicyNotice, PolicyVersion
from app.models.raw import RawBlob
from app.models.record import Employee, Job, Task, Todo
from app.models.request_log import RequestLog, RequestLogDay
from app.models.saved_reply import SavedReply
from app.models.saved_search import SavedSearch
from app.models.target import ResponseTarget
from app.models.ticket import Ticket, TicketEvent
from app.models.time import utcnow

__all__ = [
    "AccessRequest",
    "AccessToken",
    "Account",
    "AccountDomain",
    "Agent",
    "Attachment",
    "AuditEntry",
    "Consent",
    "Contact",
    "Employee",
    "Job",
    "Mailbox",
    "MailboxFolder",
    "MailboxOAuth",
    "Message",
    "MessageLocation",
    "Notification",
    "NotificationPreference",
    "PolicyNotice",
    "PolicyVersion",
    "RawBlob",
    "RecoveryCode",
    "ReplyDraft",
    "RequestLog",
    "RequestLogDay",
    "ResponseTarget",
    "SavedReply",
    "SavedSearch",
    "Task",
    "Ticket",
    "TicketChange",
    "TicketEvent",
    "TicketPresence",
    "Todo",
    "utcnow",
]
