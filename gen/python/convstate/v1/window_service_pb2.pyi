from buf.validate import validate_pb2 as _validate_pb2
from convstate.v1 import convstate_pb2 as _convstate_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
WINDOW_EVENT_TYPE_CSW_CLOSED: WindowEventType
WINDOW_EVENT_TYPE_CSW_CLOSING_SOON: WindowEventType
WINDOW_EVENT_TYPE_FEP_CLOSED: WindowEventType
WINDOW_EVENT_TYPE_UNSPECIFIED: WindowEventType

class DecideBatchRequest(_message.Message):
    __slots__ = ["business_id", "explain", "safety_margin", "template", "time", "user_ids"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    SAFETY_MARGIN_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    USER_IDS_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    explain: bool
    safety_margin: _duration_pb2.Duration
    template: _convstate_pb2.TemplateCategory
    time: _timestamp_pb2.Timestamp
    user_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, business_id: _Optional[str] = ..., user_ids: _Optional[_Iterable[str]] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., template: _Optional[_Union[_convstate_pb2.TemplateCategory, str]] = ..., safety_margin: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., explain: bool = ...) -> None: ...

class DecideBatchResponse(_message.Message):
    __slots__ = ["free_form_allowed", "results", "template_required"]
    FREE_FORM_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    free_form_allowed: int
    results: _containers.RepeatedCompositeFieldContainer[DecideBatchResult]
    template_required: int
    def __init__(self, results: _Optional[_Iterable[_Union[DecideBatchResult, _Mapping]]] = ..., free_form_allowed: _Optional[int] = ..., template_required: _Optional[int] = ...) -> None: ...

class DecideBatchResult(_message.Message):
    __slots__ = ["decision", "error", "user_id"]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    decision: DecideResponse
    error: _convstate_pb2.ItemError
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., decision: _Optional[_Union[DecideResponse, _Mapping]] = ..., error: _Optional[_Union[_convstate_pb2.ItemError, _Mapping]] = ...) -> None: ...

class DecideRequest(_message.Message):
    __slots__ = ["business_id", "explain", "safety_margin", "template", "time", "user_id", "user_phone"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    EXPLAIN_FIELD_NUMBER: _ClassVar[int]
    SAFETY_MARGIN_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_PHONE_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    explain: bool
    safety_margin: _duration_pb2.Duration
    template: _convstate_pb2.TemplateCategory
    time: _timestamp_pb2.Timestamp
    user_id: str
    user_phone: str
    def __init__(self, business_id: _Optional[str] = ..., user_id: _Optional[str] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., template: _Optional[_Union[_convstate_pb2.TemplateCategory, str]] = ..., user_phone: _Optional[str] = ..., safety_margin: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., explain: bool = ...) -> None: ...

class DecideResponse(_message.Message):
    __slots__ = ["fep_expires_at", "free_form_allowed", "last_user_activity", "open_conversations", "quote", "reason", "send_before", "template_required", "time", "warnings", "window_expires_at"]
    FEP_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FREE_FORM_ALLOWED_FIELD_NUMBER: _ClassVar[int]
    LAST_USER_ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    OPEN_CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    QUOTE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    SEND_BEFORE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_REQUIRED_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    fep_expires_at: _timestamp_pb2.Timestamp
    free_form_allowed: bool
    last_user_activity: _timestamp_pb2.Timestamp
    open_conversations: _containers.RepeatedCompositeFieldContainer[_convstate_pb2.Conversation]
    quote: _convstate_pb2.Charge
    reason: _convstate_pb2.DecisionReason
    send_before: _timestamp_pb2.Timestamp
    template_required: bool
    time: _timestamp_pb2.Timestamp
    warnings: _containers.RepeatedCompositeFieldContainer[_convstate_pb2.Warning]
    window_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, free_form_allowed: bool = ..., template_required: bool = ..., reason: _Optional[_Union[_convstate_pb2.DecisionReason, str]] = ..., window_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., send_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., fep_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_user_activity: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., open_conversations: _Optional[_Iterable[_Union[_convstate_pb2.Conversation, _Mapping]]] = ..., quote: _Optional[_Union[_convstate_pb2.Charge, _Mapping]] = ..., warnings: _Optional[_Iterable[_Union[_convstate_pb2.Warning, _Mapping]]] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class FactResult(_message.Message):
    __slots__ = ["business_message", "error", "status", "template_category_change", "user_call", "user_message"]
    BUSINESS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_CATEGORY_CHANGE_FIELD_NUMBER: _ClassVar[int]
    USER_CALL_FIELD_NUMBER: _ClassVar[int]
    USER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    business_message: RecordBusinessMessageResponse
    error: _convstate_pb2.ItemError
    status: RecordStatusResponse
    template_category_change: TemplateCategoryChangeResult
    user_call: RecordUserCallResponse
    user_message: RecordUserMessageResponse
    def __init__(self, user_message: _Optional[_Union[RecordUserMessageResponse, _Mapping]] = ..., user_call: _Optional[_Union[RecordUserCallResponse, _Mapping]] = ..., business_message: _Optional[_Union[RecordBusinessMessageResponse, _Mapping]] = ..., status: _Optional[_Union[RecordStatusResponse, _Mapping]] = ..., error: _Optional[_Union[_convstate_pb2.ItemError, _Mapping]] = ..., template_category_change: _Optional[_Union[TemplateCategoryChangeResult, _Mapping]] = ...) -> None: ...

class GetPairRequest(_message.Message):
    __slots__ = ["business_id", "user_id"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    user_id: str
    def __init__(self, business_id: _Optional[str] = ..., user_id: _Optional[str] = ...) -> None: ...

class GetPairResponse(_message.Message):
    __slots__ = ["business_id", "fep_eligible_until", "fep_expires_at", "fep_opened_at", "force_closed_at", "last_user_activity", "open_conversations", "recent_user_activity", "user_id", "window_expires_at", "window_open"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    FEP_ELIGIBLE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    FEP_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    FEP_OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    FORCE_CLOSED_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_USER_ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    OPEN_CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    RECENT_USER_ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    WINDOW_OPEN_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    fep_eligible_until: _timestamp_pb2.Timestamp
    fep_expires_at: _timestamp_pb2.Timestamp
    fep_opened_at: _timestamp_pb2.Timestamp
    force_closed_at: _timestamp_pb2.Timestamp
    last_user_activity: _timestamp_pb2.Timestamp
    open_conversations: _containers.RepeatedCompositeFieldContainer[_convstate_pb2.Conversation]
    recent_user_activity: _containers.RepeatedCompositeFieldContainer[_timestamp_pb2.Timestamp]
    user_id: str
    window_expires_at: _timestamp_pb2.Timestamp
    window_open: bool
    def __init__(self, business_id: _Optional[str] = ..., user_id: _Optional[str] = ..., last_user_activity: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., window_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., window_open: bool = ..., force_closed_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., fep_eligible_until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., fep_opened_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., fep_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., open_conversations: _Optional[_Iterable[_Union[_convstate_pb2.Conversation, _Mapping]]] = ..., recent_user_activity: _Optional[_Iterable[_Union[_timestamp_pb2.Timestamp, _Mapping]]] = ...) -> None: ...

class IngestWebhookRequest(_message.Message):
    __slots__ = ["body"]
    BODY_FIELD_NUMBER: _ClassVar[int]
    body: str
    def __init__(self, body: _Optional[str] = ...) -> None: ...

class IngestWebhookResponse(_message.Message):
    __slots__ = ["duplicates", "failed", "ignored", "recorded", "results"]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    IGNORED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    duplicates: int
    failed: int
    ignored: int
    recorded: int
    results: _containers.RepeatedCompositeFieldContainer[WebhookFactResult]
    def __init__(self, results: _Optional[_Iterable[_Union[WebhookFactResult, _Mapping]]] = ..., recorded: _Optional[int] = ..., duplicates: _Optional[int] = ..., failed: _Optional[int] = ..., ignored: _Optional[int] = ...) -> None: ...

class RecordBusinessMessageRequest(_message.Message):
    __slots__ = ["message"]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _convstate_pb2.BusinessMessage
    def __init__(self, message: _Optional[_Union[_convstate_pb2.BusinessMessage, _Mapping]] = ...) -> None: ...

class RecordBusinessMessageResponse(_message.Message):
    __slots__ = ["duplicate", "in_window", "warnings", "window_expires_at"]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    in_window: bool
    warnings: _containers.RepeatedCompositeFieldContainer[_convstate_pb2.Warning]
    window_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, duplicate: bool = ..., in_window: bool = ..., window_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., warnings: _Optional[_Iterable[_Union[_convstate_pb2.Warning, _Mapping]]] = ...) -> None: ...

class RecordFactsRequest(_message.Message):
    __slots__ = ["facts"]
    FACTS_FIELD_NUMBER: _ClassVar[int]
    facts: _containers.RepeatedCompositeFieldContainer[_convstate_pb2.Fact]
    def __init__(self, facts: _Optional[_Iterable[_Union[_convstate_pb2.Fact, _Mapping]]] = ...) -> None: ...

class RecordFactsResponse(_message.Message):
    __slots__ = ["duplicates", "failed", "recorded", "results"]
    DUPLICATES_FIELD_NUMBER: _ClassVar[int]
    FAILED_FIELD_NUMBER: _ClassVar[int]
    RECORDED_FIELD_NUMBER: _ClassVar[int]
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    duplicates: int
    failed: int
    recorded: int
    results: _containers.RepeatedCompositeFieldContainer[FactResult]
    def __init__(self, results: _Optional[_Iterable[_Union[FactResult, _Mapping]]] = ..., recorded: _Optional[int] = ..., duplicates: _Optional[int] = ..., failed: _Optional[int] = ...) -> None: ...

class RecordStatusRequest(_message.Message):
    __slots__ = ["status"]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    status: _convstate_pb2.StatusUpdate
    def __init__(self, status: _Optional[_Union[_convstate_pb2.StatusUpdate, _Mapping]] = ...) -> None: ...

class RecordStatusResponse(_message.Message):
    __slots__ = ["charge", "discrepancy", "duplicate", "window_force_closed"]
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    DISCREPANCY_FIELD_NUMBER: _ClassVar[int]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FORCE_CLOSED_FIELD_NUMBER: _ClassVar[int]
    charge: _convstate_pb2.Charge
    discrepancy: bool
    duplicate: bool
    window_force_closed: bool
    def __init__(self, duplicate: bool = ..., charge: _Optional[_Union[_convstate_pb2.Charge, _Mapping]] = ..., window_force_closed: bool = ..., discrepancy: bool = ...) -> None: ...

class RecordUserCallRequest(_message.Message):
    __slots__ = ["call"]
    CALL_FIELD_NUMBER: _ClassVar[int]
    call: _convstate_pb2.UserCall
    def __init__(self, call: _Optional[_Union[_convstate_pb2.UserCall, _Mapping]] = ...) -> None: ...

class RecordUserCallResponse(_message.Message):
    __slots__ = ["duplicate", "send_before", "window_expires_at"]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    SEND_BEFORE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    send_before: _timestamp_pb2.Timestamp
    window_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, duplicate: bool = ..., window_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., send_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class RecordUserMessageRequest(_message.Message):
    __slots__ = ["message"]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    message: _convstate_pb2.UserMessage
    def __init__(self, message: _Optional[_Union[_convstate_pb2.UserMessage, _Mapping]] = ...) -> None: ...

class RecordUserMessageResponse(_message.Message):
    __slots__ = ["duplicate", "fep_eligible_until", "send_before", "window_expires_at"]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    FEP_ELIGIBLE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    SEND_BEFORE_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    fep_eligible_until: _timestamp_pb2.Timestamp
    send_before: _timestamp_pb2.Timestamp
    window_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, duplicate: bool = ..., window_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., send_before: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., fep_eligible_until: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class TemplateCategoryChangeResult(_message.Message):
    __slots__ = ["duplicate"]
    DUPLICATE_FIELD_NUMBER: _ClassVar[int]
    duplicate: bool
    def __init__(self, duplicate: bool = ...) -> None: ...

class WatchWindowEventsRequest(_message.Message):
    __slots__ = ["business_ids", "closing_lead", "cursor", "start_time"]
    BUSINESS_IDS_FIELD_NUMBER: _ClassVar[int]
    CLOSING_LEAD_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    business_ids: _containers.RepeatedScalarFieldContainer[str]
    closing_lead: _duration_pb2.Duration
    cursor: str
    start_time: _timestamp_pb2.Timestamp
    def __init__(self, business_ids: _Optional[_Iterable[str]] = ..., closing_lead: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., cursor: _Optional[str] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class WatchWindowEventsResponse(_message.Message):
    __slots__ = ["event"]
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: WindowEvent
    def __init__(self, event: _Optional[_Union[WindowEvent, _Mapping]] = ...) -> None: ...

class WebhookFactResult(_message.Message):
    __slots__ = ["fact", "path", "result"]
    FACT_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    fact: _convstate_pb2.Fact
    path: str
    result: FactResult
    def __init__(self, path: _Optional[str] = ..., fact: _Optional[_Union[_convstate_pb2.Fact, _Mapping]] = ..., result: _Optional[_Union[FactResult, _Mapping]] = ...) -> None: ...

class WindowEvent(_message.Message):
    __slots__ = ["business_id", "cursor", "event_time", "fep_expires_at", "type", "user_id", "window_expires_at"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    CURSOR_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    FEP_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    cursor: str
    event_time: _timestamp_pb2.Timestamp
    fep_expires_at: _timestamp_pb2.Timestamp
    type: WindowEventType
    user_id: str
    window_expires_at: _timestamp_pb2.Timestamp
    def __init__(self, type: _Optional[_Union[WindowEventType, str]] = ..., business_id: _Optional[str] = ..., user_id: _Optional[str] = ..., event_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., window_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., fep_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., cursor: _Optional[str] = ...) -> None: ...

class WindowEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
