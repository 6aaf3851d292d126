from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Business(_message.Message):
    __slots__ = ["auth_international_start", "business_id", "currency", "portfolio_id", "primary_country", "time_zone", "waba_id"]
    AUTH_INTERNATIONAL_START_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PORTFOLIO_ID_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    WABA_ID_FIELD_NUMBER: _ClassVar[int]
    auth_international_start: int
    business_id: str
    currency: str
    portfolio_id: str
    primary_country: str
    time_zone: str
    waba_id: str
    def __init__(self, business_id: _Optional[str] = ..., time_zone: _Optional[str] = ..., currency: _Optional[str] = ..., waba_id: _Optional[str] = ..., portfolio_id: _Optional[str] = ..., primary_country: _Optional[str] = ..., auth_international_start: _Optional[int] = ...) -> None: ...

class Charge(_message.Message):
    __slots__ = ["amount_nanos", "category", "charged_at", "conversation_expires_at", "conversation_opened", "currency", "explanation", "fep_window_end", "increments", "market", "model", "month", "pair_user", "portfolio_id", "pricing_type", "rate_card", "rate_unknown", "rules", "tier"]
    AMOUNT_NANOS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CHARGED_AT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_OPENED_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    FEP_WINDOW_END_FIELD_NUMBER: _ClassVar[int]
    INCREMENTS_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    PAIR_USER_FIELD_NUMBER: _ClassVar[int]
    PORTFOLIO_ID_FIELD_NUMBER: _ClassVar[int]
    PRICING_TYPE_FIELD_NUMBER: _ClassVar[int]
    RATE_CARD_FIELD_NUMBER: _ClassVar[int]
    RATE_UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    amount_nanos: int
    category: int
    charged_at: int
    conversation_expires_at: int
    conversation_opened: bool
    currency: str
    explanation: str
    fep_window_end: int
    increments: _containers.RepeatedCompositeFieldContainer[CounterIncrement]
    market: str
    model: int
    month: str
    pair_user: str
    portfolio_id: str
    pricing_type: int
    rate_card: str
    rate_unknown: bool
    rules: str
    tier: int
    def __init__(self, amount_nanos: _Optional[int] = ..., rate_unknown: bool = ..., currency: _Optional[str] = ..., market: _Optional[str] = ..., category: _Optional[int] = ..., pricing_type: _Optional[int] = ..., model: _Optional[int] = ..., rules: _Optional[str] = ..., tier: _Optional[int] = ..., charged_at: _Optional[int] = ..., month: _Optional[str] = ..., rate_card: _Optional[str] = ..., conversation_opened: bool = ..., conversation_expires_at: _Optional[int] = ..., explanation: _Optional[str] = ..., increments: _Optional[_Iterable[_Union[CounterIncrement, _Mapping]]] = ..., fep_window_end: _Optional[int] = ..., portfolio_id: _Optional[str] = ..., pair_user: _Optional[str] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ["category", "end", "pricing_type", "rules", "start"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    END_FIELD_NUMBER: _ClassVar[int]
    PRICING_TYPE_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    category: int
    end: int
    pricing_type: int
    rules: str
    start: int
    def __init__(self, category: _Optional[int] = ..., start: _Optional[int] = ..., end: _Optional[int] = ..., pricing_type: _Optional[int] = ..., rules: _Optional[str] = ...) -> None: ...

class CounterIncrement(_message.Message):
    __slots__ = ["category", "kind", "market", "position", "scope_id"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    POSITION_FIELD_NUMBER: _ClassVar[int]
    SCOPE_ID_FIELD_NUMBER: _ClassVar[int]
    category: int
    kind: str
    market: str
    position: int
    scope_id: str
    def __init__(self, kind: _Optional[str] = ..., market: _Optional[str] = ..., category: _Optional[int] = ..., position: _Optional[int] = ..., scope_id: _Optional[str] = ...) -> None: ...

class Delivery(_message.Message):
    __slots__ = ["at", "message_id"]
    AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    at: int
    message_id: str
    def __init__(self, message_id: _Optional[str] = ..., at: _Optional[int] = ...) -> None: ...

class DeliveryList(_message.Message):
    __slots__ = ["items"]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    items: _containers.RepeatedCompositeFieldContainer[Delivery]
    def __init__(self, items: _Optional[_Iterable[_Union[Delivery, _Mapping]]] = ...) -> None: ...

class Discrepancy(_message.Message):
    __slots__ = ["charged_at", "differences", "user_id"]
    CHARGED_AT_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    charged_at: int
    differences: _containers.RepeatedScalarFieldContainer[str]
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., charged_at: _Optional[int] = ..., differences: _Optional[_Iterable[str]] = ...) -> None: ...

class EntryPointVisit(_message.Message):
    __slots__ = ["at", "entry_point", "used"]
    AT_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    USED_FIELD_NUMBER: _ClassVar[int]
    at: int
    entry_point: int
    used: bool
    def __init__(self, at: _Optional[int] = ..., entry_point: _Optional[int] = ..., used: bool = ...) -> None: ...

class Fact(_message.Message):
    __slots__ = ["outbound", "timestamp", "user_activity", "user_id"]
    OUTBOUND_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    USER_ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    outbound: Outbound
    timestamp: int
    user_activity: UserActivity
    user_id: str
    def __init__(self, user_id: _Optional[str] = ..., timestamp: _Optional[int] = ..., user_activity: _Optional[_Union[UserActivity, _Mapping]] = ..., outbound: _Optional[_Union[Outbound, _Mapping]] = ...) -> None: ...

class Interval(_message.Message):
    __slots__ = ["end", "start"]
    END_FIELD_NUMBER: _ClassVar[int]
    START_FIELD_NUMBER: _ClassVar[int]
    end: int
    start: int
    def __init__(self, start: _Optional[int] = ..., end: _Optional[int] = ...) -> None: ...

class Outbound(_message.Message):
    __slots__ = ["charge", "charge_status", "from_status", "given_template", "in_window", "recipient_user_id", "reported", "statuses", "template", "template_name", "user_phone", "warnings", "window_expires_at"]
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    CHARGE_STATUS_FIELD_NUMBER: _ClassVar[int]
    FROM_STATUS_FIELD_NUMBER: _ClassVar[int]
    GIVEN_TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    IN_WINDOW_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTED_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    USER_PHONE_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    charge: Charge
    charge_status: int
    from_status: bool
    given_template: int
    in_window: bool
    recipient_user_id: str
    reported: Reported
    statuses: _containers.RepeatedCompositeFieldContainer[Status]
    template: int
    template_name: str
    user_phone: str
    warnings: _containers.RepeatedScalarFieldContainer[int]
    window_expires_at: int
    def __init__(self, template: _Optional[int] = ..., user_phone: _Optional[str] = ..., in_window: bool = ..., window_expires_at: _Optional[int] = ..., warnings: _Optional[_Iterable[int]] = ..., statuses: _Optional[_Iterable[_Union[Status, _Mapping]]] = ..., charge: _Optional[_Union[Charge, _Mapping]] = ..., charge_status: _Optional[int] = ..., reported: _Optional[_Union[Reported, _Mapping]] = ..., template_name: _Optional[str] = ..., given_template: _Optional[int] = ..., from_status: bool = ..., recipient_user_id: _Optional[str] = ...) -> None: ...

class Pair(_message.Message):
    __slots__ = ["activity", "alias_of", "business_id", "closures", "conversations", "csw_indexed", "deliveries", "entry_points", "fep_indexed", "fep_windows", "last_delivery", "last_fact", "region", "user_id", "user_phone"]
    ACTIVITY_FIELD_NUMBER: _ClassVar[int]
    ALIAS_OF_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    CLOSURES_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    CSW_INDEXED_FIELD_NUMBER: _ClassVar[int]
    DELIVERIES_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINTS_FIELD_NUMBER: _ClassVar[int]
    FEP_INDEXED_FIELD_NUMBER: _ClassVar[int]
    FEP_WINDOWS_FIELD_NUMBER: _ClassVar[int]
    LAST_DELIVERY_FIELD_NUMBER: _ClassVar[int]
    LAST_FACT_FIELD_NUMBER: _ClassVar[int]
    REGION_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_PHONE_FIELD_NUMBER: _ClassVar[int]
    activity: _containers.RepeatedScalarFieldContainer[int]
    alias_of: str
    business_id: str
    closures: _containers.RepeatedScalarFieldContainer[int]
    conversations: _containers.RepeatedCompositeFieldContainer[Conversation]
    csw_indexed: int
    deliveries: bytes
    entry_points: _containers.RepeatedCompositeFieldContainer[EntryPointVisit]
    fep_indexed: int
    fep_windows: _containers.RepeatedCompositeFieldContainer[Interval]
    last_delivery: int
    last_fact: int
    region: str
    user_id: str
    user_phone: str
    def __init__(self, business_id: _Optional[str] = ..., user_id: _Optional[str] = ..., user_phone: _Optional[str] = ..., region: _Optional[str] = ..., activity: _Optional[_Iterable[int]] = ..., closures: _Optional[_Iterable[int]] = ..., entry_points: _Optional[_Iterable[_Union[EntryPointVisit, _Mapping]]] = ..., fep_windows: _Optional[_Iterable[_Union[Interval, _Mapping]]] = ..., conversations: _Optional[_Iterable[_Union[Conversation, _Mapping]]] = ..., csw_indexed: _Optional[int] = ..., last_fact: _Optional[int] = ..., fep_indexed: _Optional[int] = ..., deliveries: _Optional[bytes] = ..., last_delivery: _Optional[int] = ..., alias_of: _Optional[str] = ...) -> None: ...

class Reported(_message.Message):
    __slots__ = ["billable", "category", "has_billable", "pricing_model", "status", "type"]
    BILLABLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    HAS_BILLABLE_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODEL_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    billable: bool
    category: str
    has_billable: bool
    pricing_model: str
    status: int
    type: str
    def __init__(self, pricing_model: _Optional[str] = ..., category: _Optional[str] = ..., type: _Optional[str] = ..., has_billable: bool = ..., billable: bool = ..., status: _Optional[int] = ...) -> None: ...

class Status(_message.Message):
    __slots__ = ["discrepancy", "error_code", "status", "timestamp", "window_force_closed"]
    DISCREPANCY_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    WINDOW_FORCE_CLOSED_FIELD_NUMBER: _ClassVar[int]
    discrepancy: bool
    error_code: int
    status: int
    timestamp: int
    window_force_closed: bool
    def __init__(self, status: _Optional[int] = ..., timestamp: _Optional[int] = ..., error_code: _Optional[int] = ..., window_force_closed: bool = ..., discrepancy: bool = ...) -> None: ...

class TemplateChange(_message.Message):
    __slots__ = ["at", "new_category", "previous_category"]
    AT_FIELD_NUMBER: _ClassVar[int]
    NEW_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    at: int
    new_category: int
    previous_category: int
    def __init__(self, at: _Optional[int] = ..., previous_category: _Optional[int] = ..., new_category: _Optional[int] = ...) -> None: ...

class TemplateHistory(_message.Message):
    __slots__ = ["changes"]
    CHANGES_FIELD_NUMBER: _ClassVar[int]
    changes: _containers.RepeatedCompositeFieldContainer[TemplateChange]
    def __init__(self, changes: _Optional[_Iterable[_Union[TemplateChange, _Mapping]]] = ...) -> None: ...

class Usage(_message.Message):
    __slots__ = ["conversations", "cost_nanos", "currency", "rate_unknown_volume", "volume"]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    COST_NANOS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    RATE_UNKNOWN_VOLUME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    conversations: int
    cost_nanos: int
    currency: str
    rate_unknown_volume: int
    volume: int
    def __init__(self, volume: _Optional[int] = ..., conversations: _Optional[int] = ..., cost_nanos: _Optional[int] = ..., rate_unknown_volume: _Optional[int] = ..., currency: _Optional[str] = ...) -> None: ...

class UserActivity(_message.Message):
    __slots__ = ["call", "entry_point", "fep_eligible_until", "window_expires_at"]
    CALL_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    FEP_ELIGIBLE_UNTIL_FIELD_NUMBER: _ClassVar[int]
    WINDOW_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    call: bool
    entry_point: int
    fep_eligible_until: int
    window_expires_at: int
    def __init__(self, call: bool = ..., entry_point: _Optional[int] = ..., window_expires_at: _Optional[int] = ..., fep_eligible_until: _Optional[int] = ...) -> None: ...
