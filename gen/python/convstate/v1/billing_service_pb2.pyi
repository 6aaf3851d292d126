from buf.validate import validate_pb2 as _validate_pb2
from convstate.v1 import convstate_pb2 as _convstate_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetChargeRequest(_message.Message):
    __slots__ = ["business_id", "message_id"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    message_id: str
    def __init__(self, business_id: _Optional[str] = ..., message_id: _Optional[str] = ...) -> None: ...

class GetChargeResponse(_message.Message):
    __slots__ = ["charge", "message", "statuses"]
    CHARGE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    charge: _convstate_pb2.Charge
    message: _convstate_pb2.BusinessMessage
    statuses: _containers.RepeatedCompositeFieldContainer[StatusEvent]
    def __init__(self, message: _Optional[_Union[_convstate_pb2.BusinessMessage, _Mapping]] = ..., statuses: _Optional[_Iterable[_Union[StatusEvent, _Mapping]]] = ..., charge: _Optional[_Union[_convstate_pb2.Charge, _Mapping]] = ...) -> None: ...

class GetUsageRequest(_message.Message):
    __slots__ = ["business_id", "month", "portfolio_id"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    PORTFOLIO_ID_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    month: str
    portfolio_id: str
    def __init__(self, business_id: _Optional[str] = ..., portfolio_id: _Optional[str] = ..., month: _Optional[str] = ...) -> None: ...

class GetUsageResponse(_message.Message):
    __slots__ = ["month", "rows", "total_cost", "total_volume"]
    class TotalCostEntry(_message.Message):
        __slots__ = ["key", "value"]
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: str
        def __init__(self, key: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
    MONTH_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_COST_FIELD_NUMBER: _ClassVar[int]
    TOTAL_VOLUME_FIELD_NUMBER: _ClassVar[int]
    month: str
    rows: _containers.RepeatedCompositeFieldContainer[_convstate_pb2.UsageRow]
    total_cost: _containers.ScalarMap[str, str]
    total_volume: int
    def __init__(self, month: _Optional[str] = ..., rows: _Optional[_Iterable[_Union[_convstate_pb2.UsageRow, _Mapping]]] = ..., total_volume: _Optional[int] = ..., total_cost: _Optional[_Mapping[str, str]] = ...) -> None: ...

class ListDiscrepanciesRequest(_message.Message):
    __slots__ = ["business_id", "month", "page_size", "page_token"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    month: str
    page_size: int
    page_token: str
    def __init__(self, business_id: _Optional[str] = ..., month: _Optional[str] = ..., page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListDiscrepanciesResponse(_message.Message):
    __slots__ = ["discrepancies", "month", "next_page_token"]
    DISCREPANCIES_FIELD_NUMBER: _ClassVar[int]
    MONTH_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    discrepancies: _containers.RepeatedCompositeFieldContainer[_convstate_pb2.Discrepancy]
    month: str
    next_page_token: str
    def __init__(self, month: _Optional[str] = ..., discrepancies: _Optional[_Iterable[_Union[_convstate_pb2.Discrepancy, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class StatusEvent(_message.Message):
    __slots__ = ["error_code", "status", "timestamp"]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    error_code: int
    status: _convstate_pb2.MessageStatus
    timestamp: _timestamp_pb2.Timestamp
    def __init__(self, status: _Optional[_Union[_convstate_pb2.MessageStatus, str]] = ..., timestamp: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., error_code: _Optional[int] = ...) -> None: ...
