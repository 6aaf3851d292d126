from buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

CHARGE_CATEGORY_AUTHENTICATION: ChargeCategory
CHARGE_CATEGORY_AUTHENTICATION_INTERNATIONAL: ChargeCategory
CHARGE_CATEGORY_BUSINESS_INITIATED: ChargeCategory
CHARGE_CATEGORY_MARKETING: ChargeCategory
CHARGE_CATEGORY_SERVICE: ChargeCategory
CHARGE_CATEGORY_TEMPLATE: ChargeCategory
CHARGE_CATEGORY_UNSPECIFIED: ChargeCategory
CHARGE_CATEGORY_USER_INITIATED: ChargeCategory
CHARGE_CATEGORY_UTILITY: ChargeCategory
DECISION_REASON_FORCE_CLOSED: DecisionReason
DECISION_REASON_NO_USER_ACTIVITY: DecisionReason
DECISION_REASON_UNSPECIFIED: DecisionReason
DECISION_REASON_WINDOW_CLOSING: DecisionReason
DECISION_REASON_WINDOW_EXPIRED: DecisionReason
DECISION_REASON_WINDOW_OPEN: DecisionReason
DESCRIPTOR: _descriptor.FileDescriptor
ENTRY_POINT_CLICK_TO_WHATSAPP_AD: EntryPoint
ENTRY_POINT_PAGE_CTA: EntryPoint
ENTRY_POINT_UNSPECIFIED: EntryPoint
ERROR_REASON_BATCH_TOO_LARGE: ErrorReason
ERROR_REASON_INVALID_ARGUMENT: ErrorReason
ERROR_REASON_INVALID_TIME_ZONE: ErrorReason
ERROR_REASON_INVALID_USER_ID: ErrorReason
ERROR_REASON_INVALID_WEBHOOK: ErrorReason
ERROR_REASON_MESSAGE_ID_CONFLICT: ErrorReason
ERROR_REASON_PAIR_NOT_FOUND: ErrorReason
ERROR_REASON_TIMESTAMP_IN_FUTURE: ErrorReason
ERROR_REASON_UNKNOWN_MESSAGE: ErrorReason
ERROR_REASON_UNSPECIFIED: ErrorReason
MESSAGE_STATUS_DELIVERED: MessageStatus
MESSAGE_STATUS_FAILED: MessageStatus
MESSAGE_STATUS_READ: MessageStatus
MESSAGE_STATUS_SENT: MessageStatus
MESSAGE_STATUS_UNSPECIFIED: MessageStatus
PRICING_MODEL_CBP: PricingModel
PRICING_MODEL_NBP: PricingModel
PRICING_MODEL_PMP: PricingModel
PRICING_MODEL_UNSPECIFIED: PricingModel
PRICING_TYPE_FREE_CUSTOMER_SERVICE: PricingType
PRICING_TYPE_FREE_ENTRY_POINT: PricingType
PRICING_TYPE_FREE_TIER: PricingType
PRICING_TYPE_REGULAR: PricingType
PRICING_TYPE_UNSPECIFIED: PricingType
TEMPLATE_CATEGORY_AUTHENTICATION: TemplateCategory
TEMPLATE_CATEGORY_AUTHENTICATION_INTERNATIONAL: TemplateCategory
TEMPLATE_CATEGORY_MARKETING: TemplateCategory
TEMPLATE_CATEGORY_UNSPECIFIED: TemplateCategory
TEMPLATE_CATEGORY_UTILITY: TemplateCategory
WARNING_CODE_FREE_FORM_OUTSIDE_WINDOW: WarningCode
WARNING_CODE_RATE_UNKNOWN: WarningCode
WARNING_CODE_TEMPLATE_RECATEGORIZED: WarningCode
WARNING_CODE_UNSPECIFIED: WarningCode
WARNING_CODE_US_MARKETING_PAUSED: WarningCode

class BusinessMessage(_message.Message):
    __slots__ = ["business_id", "message_id", "template", "template_name", "timestamp", "user_id", "user_phone"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_PHONE_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    message_id: str
    template: TemplateCategory
    template_name: str
    timestamp: _timestamp_pb2.Timestamp
    user_id: str
    user_phone: str
    def __init__(self, business_id: _Optional[str] = ..., user_id: _Optional[str] = ..., message_id: _Optional[str] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., template: _Optional[_Union[TemplateCategory, str]] = ..., user_phone: _Optional[str] = ..., template_name: _Optional[str] = ...) -> None: ...

class BusinessProfile(_message.Message):
    __slots__ = ["auth_international_start", "business_id", "currency", "portfolio_id", "primary_country", "time_zone", "waba_id"]
    AUTH_INTERNATIONAL_START_FIELD_NUMBER: _ClassVar[int]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PORTFOLIO_ID_FIELD_NUMBER: _ClassVar[int]
    PRIMARY_COUNTRY_FIELD_NUMBER: _ClassVar[int]
    TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    WABA_ID_FIELD_NUMBER: _ClassVar[int]
    auth_international_start: _timestamp_pb2.Timestamp
    business_id: str
    currency: str
    portfolio_id: str
    primary_country: str
    time_zone: str
    waba_id: str
    def __init__(self, business_id: _Optional[str] = ..., time_zone: _Optional[str] = ..., currency: _Optional[str] = ..., waba_id: _Optional[str] = ..., portfolio_id: _Optional[str] = ..., primary_country: _Optional[str] = ..., auth_international_start: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class Charge(_message.Message):
    __slots__ = ["amount", "amount_nanos", "category", "charged_at", "conversation_expires_at", "conversation_opened", "currency", "explanation", "market", "model", "month", "pricing_type", "rate_card", "rate_unknown", "rules", "tier"]
    AMOUNT_FIELD_NUMBER: _ClassVar[int]
    AMOUNT_NANOS_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CHARGED_AT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    CONVERSATION_OPENED_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EXPLANATION_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    PRICING_TYPE_FIELD_NUMBER: _ClassVar[int]
    RATE_CARD_FIELD_NUMBER: _ClassVar[int]
    RATE_UNKNOWN_FIELD_NUMBER: _ClassVar[int]
    RULES_FIELD_NUMBER: _ClassVar[int]
    TIER_FIELD_NUMBER: _ClassVar[int]
    amount: str
    amount_nanos: int
    category: ChargeCategory
    charged_at: _timestamp_pb2.Timestamp
    conversation_expires_at: _timestamp_pb2.Timestamp
    conversation_opened: bool
    currency: str
    explanation: str
    market: str
    model: PricingModel
    month: str
    pricing_type: PricingType
    rate_card: str
    rate_unknown: bool
    rules: str
    tier: int
    def __init__(self, amount: _Optional[str] = ..., amount_nanos: _Optional[int] = ..., currency: _Optional[str] = ..., market: _Optional[str] = ..., category: _Optional[_Union[ChargeCategory, str]] = ..., pricing_type: _Optional[_Union[PricingType, str]] = ..., model: _Optional[_Union[PricingModel, str]] = ..., rules: _Optional[str] = ..., tier: _Optional[int] = ..., rate_unknown: bool = ..., charged_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., month: _Optional[str] = ..., rate_card: _Optional[str] = ..., conversation_opened: bool = ..., conversation_expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., explanation: _Optional[str] = ...) -> None: ...

class Conversation(_message.Message):
    __slots__ = ["category", "expires_at", "opened_at", "pricing_type"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_AT_FIELD_NUMBER: _ClassVar[int]
    OPENED_AT_FIELD_NUMBER: _ClassVar[int]
    PRICING_TYPE_FIELD_NUMBER: _ClassVar[int]
    category: ChargeCategory
    expires_at: _timestamp_pb2.Timestamp
    opened_at: _timestamp_pb2.Timestamp
    pricing_type: PricingType
    def __init__(self, category: _Optional[_Union[ChargeCategory, str]] = ..., opened_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., expires_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., pricing_type: _Optional[_Union[PricingType, str]] = ...) -> None: ...

class Discrepancy(_message.Message):
    __slots__ = ["business_id", "charged_at", "computed", "differences", "message_id", "reported", "user_id"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    CHARGED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTED_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    charged_at: _timestamp_pb2.Timestamp
    computed: Charge
    differences: _containers.RepeatedScalarFieldContainer[str]
    message_id: str
    reported: ReportedPricing
    user_id: str
    def __init__(self, business_id: _Optional[str] = ..., message_id: _Optional[str] = ..., user_id: _Optional[str] = ..., charged_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., differences: _Optional[_Iterable[str]] = ..., computed: _Optional[_Union[Charge, _Mapping]] = ..., reported: _Optional[_Union[ReportedPricing, _Mapping]] = ...) -> None: ...

class Fact(_message.Message):
    __slots__ = ["business_message", "status", "template_category_change", "user_call", "user_message"]
    BUSINESS_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_CATEGORY_CHANGE_FIELD_NUMBER: _ClassVar[int]
    USER_CALL_FIELD_NUMBER: _ClassVar[int]
    USER_MESSAGE_FIELD_NUMBER: _ClassVar[int]
    business_message: BusinessMessage
    status: StatusUpdate
    template_category_change: TemplateCategoryChange
    user_call: UserCall
    user_message: UserMessage
    def __init__(self, user_message: _Optional[_Union[UserMessage, _Mapping]] = ..., user_call: _Optional[_Union[UserCall, _Mapping]] = ..., business_message: _Optional[_Union[BusinessMessage, _Mapping]] = ..., status: _Optional[_Union[StatusUpdate, _Mapping]] = ..., template_category_change: _Optional[_Union[TemplateCategoryChange, _Mapping]] = ...) -> None: ...

class FieldViolation(_message.Message):
    __slots__ = ["description", "field"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FIELD_FIELD_NUMBER: _ClassVar[int]
    description: str
    field: str
    def __init__(self, field: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class ItemError(_message.Message):
    __slots__ = ["code", "code_name", "field_violations", "message", "metadata", "reason"]
    class MetadataEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    CODE_FIELD_NUMBER: _ClassVar[int]
    CODE_NAME_FIELD_NUMBER: _ClassVar[int]
    FIELD_VIOLATIONS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    METADATA_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    code: int
    code_name: str
    field_violations: _containers.RepeatedCompositeFieldContainer[FieldViolation]
    message: str
    metadata: _containers.ScalarMap[str, str]
    reason: ErrorReason
    def __init__(self, code: _Optional[int] = ..., code_name: _Optional[str] = ..., message: _Optional[str] = ..., reason: _Optional[_Union[ErrorReason, str]] = ..., field_violations: _Optional[_Iterable[_Union[FieldViolation, _Mapping]]] = ..., metadata: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ReportedPricing(_message.Message):
    __slots__ = ["billable", "category", "pricing_model", "type"]
    BILLABLE_FIELD_NUMBER: _ClassVar[int]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PRICING_MODEL_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    billable: bool
    category: str
    pricing_model: str
    type: str
    def __init__(self, pricing_model: _Optional[str] = ..., category: _Optional[str] = ..., type: _Optional[str] = ..., billable: bool = ...) -> None: ...

class StatusUpdate(_message.Message):
    __slots__ = ["business_id", "error_code", "message_id", "pricing", "recipient_id", "recipient_user_id", "status", "timestamp"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PRICING_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_ID_FIELD_NUMBER: _ClassVar[int]
    RECIPIENT_USER_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    error_code: int
    message_id: str
    pricing: ReportedPricing
    recipient_id: str
    recipient_user_id: str
    status: MessageStatus
    timestamp: _timestamp_pb2.Timestamp
    def __init__(self, business_id: _Optional[str] = ..., message_id: _Optional[str] = ..., status: _Optional[_Union[MessageStatus, str]] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., error_code: _Optional[int] = ..., recipient_id: _Optional[str] = ..., pricing: _Optional[_Union[ReportedPricing, _Mapping]] = ..., recipient_user_id: _Optional[str] = ...) -> None: ...

class TemplateCategoryChange(_message.Message):
    __slots__ = ["new_category", "previous_category", "template_name", "timestamp", "waba_id"]
    NEW_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_CATEGORY_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_NAME_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    WABA_ID_FIELD_NUMBER: _ClassVar[int]
    new_category: TemplateCategory
    previous_category: TemplateCategory
    template_name: str
    timestamp: _timestamp_pb2.Timestamp
    waba_id: str
    def __init__(self, waba_id: _Optional[str] = ..., template_name: _Optional[str] = ..., previous_category: _Optional[_Union[TemplateCategory, str]] = ..., new_category: _Optional[_Union[TemplateCategory, str]] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class UsageRow(_message.Message):
    __slots__ = ["category", "conversations", "cost", "cost_nanos", "currency", "market", "pricing_type", "rate_unknown_volume", "volume"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    CONVERSATIONS_FIELD_NUMBER: _ClassVar[int]
    COST_FIELD_NUMBER: _ClassVar[int]
    COST_NANOS_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    PRICING_TYPE_FIELD_NUMBER: _ClassVar[int]
    RATE_UNKNOWN_VOLUME_FIELD_NUMBER: _ClassVar[int]
    VOLUME_FIELD_NUMBER: _ClassVar[int]
    category: ChargeCategory
    conversations: int
    cost: str
    cost_nanos: int
    currency: str
    market: str
    pricing_type: PricingType
    rate_unknown_volume: int
    volume: int
    def __init__(self, market: _Optional[str] = ..., category: _Optional[_Union[ChargeCategory, str]] = ..., pricing_type: _Optional[_Union[PricingType, str]] = ..., volume: _Optional[int] = ..., conversations: _Optional[int] = ..., cost: _Optional[str] = ..., cost_nanos: _Optional[int] = ..., currency: _Optional[str] = ..., rate_unknown_volume: _Optional[int] = ...) -> None: ...

class UserCall(_message.Message):
    __slots__ = ["business_id", "call_id", "timestamp", "user_id", "user_phone"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    CALL_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_PHONE_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    call_id: str
    timestamp: _timestamp_pb2.Timestamp
    user_id: str
    user_phone: str
    def __init__(self, business_id: _Optional[str] = ..., user_id: _Optional[str] = ..., call_id: _Optional[str] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., user_phone: _Optional[str] = ...) -> None: ...

class UserMessage(_message.Message):
    __slots__ = ["business_id", "entry_point", "message_id", "timestamp", "user_id", "user_phone"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    ENTRY_POINT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_PHONE_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    entry_point: EntryPoint
    message_id: str
    timestamp: _timestamp_pb2.Timestamp
    user_id: str
    user_phone: str
    def __init__(self, business_id: _Optional[str] = ..., user_id: _Optional[str] = ..., message_id: _Optional[str] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., entry_point: _Optional[_Union[EntryPoint, str]] = ..., user_phone: _Optional[str] = ...) -> None: ...

class Warning(_message.Message):
    __slots__ = ["code", "message"]
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: WarningCode
    message: str
    def __init__(self, code: _Optional[_Union[WarningCode, str]] = ..., message: _Optional[str] = ...) -> None: ...

class TemplateCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class EntryPoint(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class MessageStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ChargeCategory(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class PricingType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class PricingModel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class DecisionReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class WarningCode(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class ErrorReason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
