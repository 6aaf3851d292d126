from buf.validate import validate_pb2 as _validate_pb2
from convstate.v1 import convstate_pb2 as _convstate_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class BackupRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class BackupResponse(_message.Message):
    __slots__ = ["chunk", "total_bytes"]
    CHUNK_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    chunk: bytes
    total_bytes: int
    def __init__(self, chunk: _Optional[bytes] = ..., total_bytes: _Optional[int] = ...) -> None: ...

class CollectGarbageRequest(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class CollectGarbageResponse(_message.Message):
    __slots__ = ["examined", "facts_deleted", "index_entries_deleted", "pairs_deleted"]
    EXAMINED_FIELD_NUMBER: _ClassVar[int]
    FACTS_DELETED_FIELD_NUMBER: _ClassVar[int]
    INDEX_ENTRIES_DELETED_FIELD_NUMBER: _ClassVar[int]
    PAIRS_DELETED_FIELD_NUMBER: _ClassVar[int]
    examined: int
    facts_deleted: int
    index_entries_deleted: int
    pairs_deleted: int
    def __init__(self, facts_deleted: _Optional[int] = ..., pairs_deleted: _Optional[int] = ..., index_entries_deleted: _Optional[int] = ..., examined: _Optional[int] = ...) -> None: ...

class GetBusinessProfileRequest(_message.Message):
    __slots__ = ["business_id"]
    BUSINESS_ID_FIELD_NUMBER: _ClassVar[int]
    business_id: str
    def __init__(self, business_id: _Optional[str] = ...) -> None: ...

class GetBusinessProfileResponse(_message.Message):
    __slots__ = ["profile", "stored"]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    STORED_FIELD_NUMBER: _ClassVar[int]
    profile: _convstate_pb2.BusinessProfile
    stored: bool
    def __init__(self, profile: _Optional[_Union[_convstate_pb2.BusinessProfile, _Mapping]] = ..., stored: bool = ...) -> None: ...

class ListRateCardsRequest(_message.Message):
    __slots__ = ["currency", "include_rows"]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    INCLUDE_ROWS_FIELD_NUMBER: _ClassVar[int]
    currency: str
    include_rows: bool
    def __init__(self, currency: _Optional[str] = ..., include_rows: bool = ...) -> None: ...

class ListRateCardsResponse(_message.Message):
    __slots__ = ["cards"]
    CARDS_FIELD_NUMBER: _ClassVar[int]
    cards: _containers.RepeatedCompositeFieldContainer[RateCard]
    def __init__(self, cards: _Optional[_Iterable[_Union[RateCard, _Mapping]]] = ...) -> None: ...

class RateCard(_message.Message):
    __slots__ = ["currency", "effective_from", "row_count", "rows", "source"]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    EFFECTIVE_FROM_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    currency: str
    effective_from: str
    row_count: int
    rows: _containers.RepeatedCompositeFieldContainer[RateCardRow]
    source: str
    def __init__(self, effective_from: _Optional[str] = ..., currency: _Optional[str] = ..., source: _Optional[str] = ..., row_count: _Optional[int] = ..., rows: _Optional[_Iterable[_Union[RateCardRow, _Mapping]]] = ...) -> None: ...

class RateCardRow(_message.Message):
    __slots__ = ["category", "market", "rate", "tier_from"]
    CATEGORY_FIELD_NUMBER: _ClassVar[int]
    MARKET_FIELD_NUMBER: _ClassVar[int]
    RATE_FIELD_NUMBER: _ClassVar[int]
    TIER_FROM_FIELD_NUMBER: _ClassVar[int]
    category: _convstate_pb2.ChargeCategory
    market: str
    rate: str
    tier_from: int
    def __init__(self, market: _Optional[str] = ..., category: _Optional[_Union[_convstate_pb2.ChargeCategory, str]] = ..., tier_from: _Optional[int] = ..., rate: _Optional[str] = ...) -> None: ...

class SetBusinessProfileRequest(_message.Message):
    __slots__ = ["profile"]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: _convstate_pb2.BusinessProfile
    def __init__(self, profile: _Optional[_Union[_convstate_pb2.BusinessProfile, _Mapping]] = ...) -> None: ...

class SetBusinessProfileResponse(_message.Message):
    __slots__ = ["profile"]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    profile: _convstate_pb2.BusinessProfile
    def __init__(self, profile: _Optional[_Union[_convstate_pb2.BusinessProfile, _Mapping]] = ...) -> None: ...
