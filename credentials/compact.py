"""The compact claims of credential format 2 (``credentials.credential``): what is left off the wire and how the
rest is squeezed, chosen by measurement (``benchmarks/qr_size.py``; bytes of the ES256 driving licence).

* **Derivable claims are not sent** (full view −31 B). A GB 11643 resident ID number holds the birth date
  (digits 7–14) and the sex (digit 17: odd 男, even 女), and the issuer refuses claims that disagree with it
  (``issuer.validation``); a driving licence's number is the holder's ID number. So when a view discloses
  ``id_number``, ``birth_date`` and ``sex`` never travel and ``licence_number`` travels only when it differs;
  the verifier puts them back from the signed ID number. Likewise ``nbf`` is not sent when the view discloses
  ``valid_from``: it is the start of that day in China Standard Time (full view −6 B). A payload that sends
  one of them anyway is refused, so each signed licence has one encoding.
* **The claims map is deflated with a preset dictionary** (raw DEFLATE, RFC 1951, with ``zdict``) of the words
  Chinese addresses and authority names are made of (full view −64 B), when that is shorter; a view with
  little text (the age view: one boolean) stays a plain map. The dictionary is part of format 2: changing it
  needs a format 3. Inflation is bounded (4 KiB), and only the signed payload is ever inflated.
* Measured and not taken: GB 18030 text instead of UTF-8 (−2 B on top of the dictionary, and every reader
  would need a GB 18030 codec); deflating the whole presentation in the QR framing (signatures do not
  compress, and the browser's ``CompressionStream`` has no preset dictionary).
"""

from __future__ import annotations

import datetime as dt
import zlib
from typing import Any

from credentials.errors import StructureError

MAX_CLAIMS_BYTES = 4096
# The words of addresses and authorities, most frequent last (DEFLATE reaches back 32 KiB; nearer is cheaper).
DICTIONARY = (
    "内蒙古自治区广西壮族自治区西藏自治区宁夏回族自治区新疆维吾尔自治区香港特别行政区澳门特别行政区"
    "黑龙江省吉林省辽宁省河北省山西省陕西省甘肃省青海省山东省河南省湖北省湖南省江苏省浙江省安徽省福建省"
    "江西省广东省海南省四川省贵州省云南省台湾省重庆市天津市上海市"
    "哈尔滨市长春市沈阳市大连市石家庄市太原市西安市兰州市西宁市济南市青岛市郑州市武汉市长沙市南京市苏州市"
    "杭州市宁波市合肥市福州市厦门市南昌市广州市深圳市东莞市佛山市海口市成都市贵阳市昆明市拉萨市银川市"
    "乌鲁木齐市呼和浩特市南宁市"
    "自治州自治县开发区高新区新区经济技术开发区工业园区社区居委会村委会乡镇街道大道大街胡同弄巷里小区"
    "花园公寓大厦广场中心楼单元室层栋号院东路西路南路北路中路环路"
    "有限责任公司股份有限公司分公司个体工商户个人独资企业合伙企业农民专业合作社人民币万元"
    "市场监督管理局行政审批局卫生健康委员会疾病预防控制中心人民政府公安分局派出所车辆管理所支队大队"
    "交通警察交通管理局公安交通管理局公安局"
    "汉族回族满族蒙古族藏族维吾尔族壮族苗族彝族土家族朝鲜族"
    "无异常密接次密接时空伴随行程中高风险地区"
    "东城区西城区朝阳区海淀区丰台区石景山区通州区顺义区昌平区大兴区房山区门头沟区怀柔区平谷区密云区延庆区"
    "浦东新区黄浦区徐汇区长宁区静安区普陀区虹口区杨浦区闵行区宝山区嘉定区松江区青浦区奉贤区金山区崇明区"
    "北京市朝阳区建国路北京市海淀区中关村北京市东城区北京市西城区北京市公安局北京市"
).encode()

_DERIVED_FROM_ID = ("birth_date", "sex", "licence_number")


def _from_id(name: str, id_number: Any) -> Any:
    """The value ``name`` takes when derived from a GB 11643 ID number; None when ``id_number`` has not that shape
    (then nothing is derived from it, on either side, and the claims travel as they are)."""
    if not (isinstance(id_number, str) and len(id_number) == 18 and id_number[:17].isascii()
            and id_number[:17].isdigit()):
        return None
    if name == "sex":
        return "男" if int(id_number[16]) % 2 else "女"
    if name == "birth_date":
        try:
            return dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
        except ValueError:
            return None
    return id_number  # licence_number


def omit_derived(claims: dict[str, Any]) -> dict[str, Any]:
    """``claims`` without what the verifier derives from the ID number beside them."""
    id_number = claims.get("id_number")
    return {name: value for name, value in claims.items()
            if not (name in _DERIVED_FROM_ID and value == _from_id(name, id_number))}


def restore_derived(claims: dict[str, Any], disclosed: tuple[str, ...]) -> dict[str, Any]:
    """Put back the derived claims of a view that discloses ``disclosed``; refuse one that was sent although it
    equals its derived value (a second encoding of the same licence)."""
    if "id_number" not in claims:
        return claims
    restored = dict(claims)
    for name in _DERIVED_FROM_ID:
        derived = _from_id(name, claims["id_number"])
        if name not in disclosed or derived is None:
            continue
        if name in claims:
            if claims[name] == derived:
                raise StructureError(f"{name} is sent although it is derived from id_number", "malformed_structure")
        else:
            restored[name] = derived
    return restored


_CST = dt.timezone(dt.timedelta(hours=8))  # the licence's own calendar


def not_before_from(claims: dict[str, Any]) -> int | None:
    """``nbf`` as the issuer sets it from a disclosed ``valid_from``: the start of that day, UTC+8."""
    day = claims.get("valid_from")
    if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
        return None
    return int(dt.datetime.combine(day, dt.time(), tzinfo=_CST).timestamp())


def deflate(data: bytes) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, -15, 9, zlib.Z_DEFAULT_STRATEGY, zdict=DICTIONARY)
    return packer.compress(data) + packer.flush()


def inflate(data: bytes) -> bytes:
    """Raw DEFLATE with the dictionary; at most ``MAX_CLAIMS_BYTES`` out, one complete stream, nothing after."""
    unpacker = zlib.decompressobj(-15, zdict=DICTIONARY)
    try:
        out = unpacker.decompress(data, MAX_CLAIMS_BYTES)
        if unpacker.unconsumed_tail:
            raise StructureError(f"the claims inflate to more than {MAX_CLAIMS_BYTES} bytes", "too_large")
        out += unpacker.flush()
    except zlib.error as exc:
        raise StructureError("the compressed claims are corrupt", "malformed_structure") from exc
    if not unpacker.eof or unpacker.unused_data or len(out) > MAX_CLAIMS_BYTES:
        raise StructureError("the compressed claims are truncated, too long or followed by bytes",
                             "malformed_structure")
    return out


__all__ = ["DICTIONARY", "deflate", "inflate", "not_before_from", "omit_derived", "restore_derived"]
