"""Every reason code a counter can see, as one sentence a clerk understands, in Chinese and English.

The pipeline (``verifier.pipeline``), the credential parser (``credentials``) and the counter's own
adapters (camera frames, the cache) report stable codes; this table is the only place they become
words. ``tests/verifier/test_reasons.py`` checks that every code the code base can raise is here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str
    # What the clerk should do: "retry" (ask for a fresh code), "refuse", "sync" (the counter must sync), "valid".
    action: str = "refuse"


_CHECK_THE_PHONE = ("请持证人刷新后重新出示", "ask the holder to refresh the code and show it again")

REASONS: dict[str, Reason] = {r.code: r for r in (
    # -- the counter itself --------------------------------------------------------------------------
    Reason("trust_list_missing", "本柜台尚未同步信任列表，无法核验", "This counter has not synced its trust list yet",
           "sync"),
    Reason("trust_list_expired", "本柜台的信任列表已过期，请先同步", "This counter's trust list has expired: sync it first",
           "sync"),
    Reason("status_unknown", "本柜台没有该证照的最新状态（吊销名单未同步）",
           "This counter has no current revocation status for the licence: sync it", "sync"),
    Reason("status_reference_invalid", "证照指向的吊销名单不存在或位置无效，无法确认状态，同步也无济于事",
           "The licence points to a revocation list entry that does not exist: syncing will not help", "refuse"),
    # -- not a tongban code, or damaged ----------------------------------------------------------------
    Reason("unknown_prefix", "这不是通办电子证照二维码", "This is not a tongban e-licence code", "refuse"),
    Reason("unsupported_version", "二维码版本过新，本柜台无法识别，请升级核验软件",
           "The code is of a newer version than this counter reads: update the counter", "refuse"),
    Reason("malformed_encoding", "二维码内容损坏或不完整，" + _CHECK_THE_PHONE[0],
           "The code is damaged or incomplete; " + _CHECK_THE_PHONE[1], "retry"),
    Reason("decompression_failed", "二维码内容损坏，" + _CHECK_THE_PHONE[0],
           "The code's content is corrupt; " + _CHECK_THE_PHONE[1], "retry"),
    Reason("too_large", "二维码内容过大，不是有效的电子证照", "The code is too large to be an e-licence", "refuse"),
    Reason("malformed_cbor", "二维码内容格式错误，" + _CHECK_THE_PHONE[0],
           "The code's content is malformed; " + _CHECK_THE_PHONE[1], "retry"),
    Reason("malformed_structure", "二维码内容格式错误，不是有效的电子证照",
           "The code's content is not a valid e-licence", "refuse"),
    Reason("unknown_licence_type", "不认识的证照类型，本柜台无法核验", "Unknown licence type: this counter cannot check it",
           "refuse"),
    Reason("disclosure_mismatch", "出示的信息项与证照规定不符，可能被篡改",
           "The disclosed items do not match the licence's rules: possibly tampered with", "refuse"),
    Reason("invalid_claim", "证照内容不符合规范，可能被篡改", "The licence's content breaks its rules: possibly tampered with",
           "refuse"),
    Reason("credential_error", "证照无法读取", "The licence cannot be read", "refuse"),
    # -- the issuer ---------------------------------------------------------------------------------------
    Reason("unknown_key", "签发机关不在信任列表中，证照不可信",
           "The issuing authority is not on the trust list: the licence is not trusted", "refuse"),
    Reason("issuer_not_authorised", "该机关无权签发此类证照",
           "This authority is not allowed to issue this kind of licence", "refuse"),
    Reason("recognition_expired", "外地签发机关的互通互认已过期，本地平台需更新互认信息后才能核验",
           "The other region's authority is no longer recognised here: the hub must refresh its recognition",
           "refuse"),
    Reason("key_expired", "签发密钥已过有效期", "The issuer's signing key is outside its validity period", "refuse"),
    Reason("algorithm_mismatch", "签名算法与签发机关密钥不符，证照可能被伪造",
           "The signature names another algorithm than the issuer's key: the licence may be forged", "refuse"),
    Reason("issued_in_future", "证照的签发时间晚于当前时间，不可信（请核对本柜台时钟）",
           "The licence says it was issued in the future: not trusted (check this counter's clock)", "refuse"),
    Reason("issued_outside_key_window", "证照的签发时间不在签发密钥有效期内，可能被伪造",
           "The licence was dated outside its issuer key's validity period: possibly forged", "refuse"),
    Reason("key_retired", "证照签发时间晚于签发密钥的停用时间，可能是用旧密钥伪造的",
           "The licence was signed after the issuer retired its key: possibly forged with an old key", "refuse"),
    Reason("key_compromised", "签发密钥已被签发机关宣布泄露并停用，请持证人到签发机关重新办理该证照",
           "The issuer has withdrawn this licence's signing key as compromised: the holder must have it re-issued",
           "refuse"),
    Reason("bad_signature", "签发机关签名无效，证照可能被伪造或篡改",
           "The issuer's signature is invalid: the licence may be forged or altered", "refuse"),
    # -- the licence ----------------------------------------------------------------------------------------
    Reason("not_yet_valid", "证照尚未生效", "The licence is not valid yet", "refuse"),
    Reason("expired", "证照已过期", "The licence has expired", "refuse"),
    Reason("revoked", "证照已被签发机关吊销（注销）", "The issuing authority has revoked this licence", "refuse"),
    Reason("suspended", "证照已被签发机关暂停使用", "The issuing authority has suspended this licence", "refuse"),
    Reason("status_invalid", "证照状态异常，请联系签发机关", "The licence has an unusual status: contact the issuer",
           "refuse"),
    # -- the holder and the moment ----------------------------------------------------------------------------
    Reason("holder_signature_invalid", "出示的手机不是该证照的持有设备，可能是截图或转发",
           "Not shown from the phone the licence was issued to: possibly a screenshot or a copy", "refuse"),
    Reason("challenge_mismatch", "二维码不是针对本柜台本次核验生成的，请持证人重新扫码出示",
           "The code was not made for this counter's request: ask the holder to show it again", "retry"),
    Reason("audience_mismatch", "二维码是为其他柜台生成的（或未扫描本柜台码），请持证人先扫描本柜台码再出示",
           "The code was made for another counter (or without scanning this one's code): ask the holder to scan "
           "this counter's code, then show theirs", "retry"),
    Reason("counter_code", "这是柜台码（供持证人的钱包扫描），不是电子证照",
           "This is a counter code (for the holder's wallet to scan), not an e-licence", "retry"),
    Reason("malformed_counter_code", "柜台码格式错误，请刷新柜台页面", "The counter code is malformed: reload the counter page",
           "retry"),
    Reason("stale", "二维码已超时，" + _CHECK_THE_PHONE[0],
           "The code is too old; " + _CHECK_THE_PHONE[1], "retry"),
    Reason("presented_in_future", "持证人手机时间不准，请校准手机时间后重新出示",
           "The holder's phone clock is wrong: set it right and show the code again", "retry"),
    Reason("replayed", "该二维码已被核验过一次，不能重复使用，可能是截图",
           "This exact code was already checked once: it cannot be reused (possibly a screenshot)", "retry"),
    # -- the counter's camera and scanner -----------------------------------------------------------------------
    Reason("no_qr_code", "画面中没有找到二维码", "No QR code found in the picture", "retry"),
    Reason("image_unreadable", "图片无法读取（仅支持 JPEG / PNG）", "The picture cannot be read (JPEG or PNG only)", "retry"),
    Reason("image_too_large", "图片过大", "The picture is too large", "retry"),
    Reason("unsupported_content_type", "请求格式不对（柜台软件故障）", "Wrong request format (a counter software fault)",
           "retry"),
    Reason("malformed_json", "请求内容不是 JSON（柜台软件故障）", "The request is not JSON (a counter software fault)", "retry"),
    Reason("malformed_request", "没有收到扫描内容，请重新扫码", "Nothing scanned arrived: scan again", "retry"),
    Reason("sync_unavailable", "本柜台只能在命令行同步", "This counter syncs from the command line only", "sync"),
    Reason("source_unreachable", "无法连接证照中心，同步失败", "Cannot reach the licence hub: sync failed", "sync"),
    Reason("source_http_error", "证照中心返回错误，同步失败", "The licence hub answered with an error: sync failed", "sync"),
    Reason("source_too_large", "证照中心返回的数据过大，同步失败", "The licence hub sent too much data: sync failed", "sync"),
    Reason("source_bad_response", "证照中心返回的数据无法识别，同步失败", "The licence hub's answer is unreadable: sync failed",
           "sync"),
    Reason("trust_list_untrusted_root", "信任列表不是本柜台信任的根密钥签发的，已拒绝",
           "The trust list is not signed by the root this counter trusts: refused", "sync"),
    Reason("trust_list_malformed", "下载的信任列表无法识别，已拒绝", "The downloaded trust list is unreadable: refused", "sync"),
    Reason("trust_list_algorithm", "下载的信任列表签名算法与本柜台信任的根密钥不符，可能是伪造的，已拒绝",
           "The downloaded trust list is signed with another algorithm than this counter's root key: "
           "possibly forged, refused", "sync"),
    Reason("trust_list_not_yet_valid", "信任列表的时间晚于本机时间，请检查本机时钟",
           "The trust list is dated in the future: check this counter's clock", "sync"),
    Reason("trust_list_rollback", "下载的信任列表比本柜台现有的旧，已拒绝",
           "The downloaded trust list is older than the one this counter holds: refused", "sync"),
    Reason("status_list_untrusted", "吊销名单不是签发机关签署的，已拒绝",
           "A revocation list is not signed by its authority: refused", "sync"),
    Reason("status_list_rollback", "下载的吊销名单比本柜台现有的旧，已拒绝（保留现有名单）",
           "The downloaded revocation list is not newer than the one this counter holds: refused (kept its own)",
           "sync"),
    Reason("status_list_expired", "下载的吊销名单已过期，已拒绝：证照中心未及时更新",
           "The downloaded revocation list has expired: refused (the hub is not re-signing it)", "sync"),
    Reason("status_list_stale", "证照中心提供的吊销名单超过更新周期仍未更新，请联系证照中心",
           "The hub serves a revocation list older than its refresh period: contact the hub", "sync"),
    Reason("status_list_subject", "下载的吊销名单与其地址不符，已拒绝",
           "A downloaded revocation list is not the list its address names: refused", "sync"),
    Reason("status_list_not_yet_valid", "吊销名单的时间晚于本机时间，请检查本机时钟",
           "A revocation list is dated in the future: check this counter's clock", "sync"),
    Reason("status_list_malformed", "下载的吊销名单无法识别，已拒绝", "A downloaded revocation list is unreadable: refused",
           "sync"),
    # -- EU Digital COVID Certificates (HC1:, verifier.dcc_pipeline; foreign codes, checked as hcert v1.0.5 says) ----
    Reason("dcc_prefix", "这不是欧盟数字新冠证书（应以 HC1: 开头）", "This is not an EU Digital COVID Certificate (HC1:)",
           "refuse"),
    Reason("dcc_unsupported_version", "欧盟数字新冠证书版本不受支持（本柜台只识别 HC1:）",
           "This EU DCC version is not supported: this counter reads HC1 only", "refuse"),
    Reason("dcc_base45", "欧盟数字新冠证书二维码内容损坏（编码错误），请重新扫码",
           "The EU DCC code is damaged (bad base45): scan it again", "retry"),
    Reason("dcc_not_compressed", "欧盟数字新冠证书内容未按规范压缩，不是有效证书",
           "The EU DCC content is not compressed as the specification requires: not a valid certificate", "refuse"),
    Reason("dcc_cbor", "欧盟数字新冠证书内容格式错误", "The EU DCC content is malformed", "refuse"),
    Reason("dcc_cose", "欧盟数字新冠证书的签名结构错误", "The EU DCC's signature structure is malformed", "refuse"),
    Reason("dcc_cwt", "欧盟数字新冠证书缺少签发时间、有效期或证书内容", "The EU DCC lacks its issue time, expiry or content",
           "refuse"),
    Reason("dcc_schema", "欧盟数字新冠证书内容不符合规范（缺少或错误的项目）",
           "The EU DCC's content breaks the certificate schema (a field is missing or wrong)", "refuse"),
    Reason("dcc_malformed", "欧盟数字新冠证书无法读取", "The EU DCC cannot be read", "refuse"),
    Reason("dcc_trust_missing", "本柜台尚未导入欧盟证书签发方名单，无法核验欧盟数字新冠证书",
           "This counter has not imported the EU signer list: it cannot check EU DCCs", "sync"),
    Reason("dcc_unknown_signer", "欧盟数字新冠证书的签发方不在本柜台导入的名单中，不可信",
           "The EU DCC's signer is not on this counter's imported list: not trusted", "refuse"),
    Reason("dcc_algorithm_unsupported", "欧盟数字新冠证书使用了不允许的签名算法（仅限 ES256、PS256）",
           "The EU DCC uses a signature algorithm that is not allowed (ES256 and PS256 only)", "refuse"),
    Reason("dcc_algorithm_mismatch", "欧盟数字新冠证书的签名算法与签发方密钥不符，可能被伪造",
           "The EU DCC names another algorithm than its signer's key: possibly forged", "refuse"),
    Reason("dcc_bad_signature", "欧盟数字新冠证书签名无效，可能被伪造或篡改",
           "The EU DCC's signature is invalid: possibly forged or altered", "refuse"),
    Reason("dcc_signer_expired", "欧盟数字新冠证书的签发方证书已过期或尚未生效",
           "The EU DCC's signing certificate is outside its validity period", "refuse"),
    Reason("dcc_signed_outside_signer_validity", "欧盟数字新冠证书的签发时间不在签发方证书有效期内，可能被伪造",
           "The EU DCC was dated outside its signing certificate's validity: possibly forged", "refuse"),
    Reason("dcc_issued_in_future", "欧盟数字新冠证书的签发时间晚于当前时间（请核对本柜台时钟）",
           "The EU DCC says it was issued in the future (check this counter's clock)", "refuse"),
    Reason("dcc_expired", "欧盟数字新冠证书已过期", "The EU DCC has expired", "refuse"),
    Reason("dcc_key_usage", "签发方证书无权签发此类欧盟数字新冠证书（疫苗、检测或康复）",
           "The signing certificate may not sign this kind of EU DCC (vaccination, test or recovery)", "refuse"),
    Reason("dcc_test_positive", "检测结果为阳性", "The test result is positive (detected)", "refuse"),
    # -- importing the EU signer list (tongban verifier import-dcc-trust) ----------------------------------------
    Reason("dcc_trust_malformed", "欧盟证书签发方名单文件无法识别", "The EU signer list file is unreadable", "sync"),
    Reason("dsc_malformed", "签发方证书无法读取，已跳过", "A signer certificate is unreadable: skipped", "sync"),
    Reason("dsc_kid_mismatch", "签发方证书的标识（kid）与证书本身不符，已跳过",
           "A signer certificate's kid does not match the certificate: skipped", "sync"),
    Reason("dsc_key_unsupported", "签发方证书的密钥类型不受支持（仅限 P-256、RSA 2048 位以上），已跳过",
           "A signer certificate's key is not P-256 or RSA of 2048 bits or more: skipped", "sync"),
    Reason("dsc_expired", "签发方证书已过期，已跳过", "A signer certificate has expired: skipped", "sync"),
    Reason("dsc_country_mismatch", "签发方证书的国家与名单所列不符，已跳过",
           "A signer certificate belongs to another country than listed: skipped", "sync"),
    Reason("dsc_chain", "签发方证书不是由所给的国家根证书（CSCA）签发，已跳过",
           "A signer certificate is not signed by a given country CA (CSCA): skipped", "sync"),
    Reason("dsc_not_a_signer", "名单中的该证书不是证书签发方（DSC），已跳过",
           "A listed certificate is not a document signer (DSC): skipped", "sync"),
    Reason("verifier_error", "核验设备出错，请重试", "The counter's verifier failed: try again", "retry"),
    Reason("two_way_off", "本柜台未启用柜台码（双向核验）", "This counter shows no counter code (two-way mode is off)",
           "refuse"),
    Reason("challenge_store_unavailable", "核验设备的柜台码存储不可用，暂不能核验，请联系技术人员",
           "The counter's challenge store is down: it cannot check codes now; call support", "retry"),
    Reason("replay_cache_unavailable", "核验设备的防重放存储不可用，暂不能核验，请联系技术人员",
           "The counter's replay store is down: it cannot check codes now; call support", "retry"),
    # -- 免证办: fetching the licence with the holder's authorisation (verifier.fetch, issuer.fetch) -----------
    Reason("handle_used", "该授权已被使用过一次，请持证人重新生成“授权调取”码",
           "This authorisation was already used: ask the holder for a new fetch code", "retry"),
    Reason("handle_unknown", "授权已过期（2 分钟）或无效，请持证人重新生成“授权调取”码",
           "The authorisation has expired (2 minutes) or is unknown: ask the holder for a new fetch code", "retry"),
    Reason("wrong_counter", "持证人授权的是其他柜台，本柜台不能调取", "The holder authorised another counter, not this one",
           "refuse"),
    Reason("handle_not_for_this_licence", "授权与所出示的证照或手机不符，不能调取",
           "The authorisation belongs to another licence or phone than the code shows", "refuse"),
    Reason("no_fetch_handle", "该二维码未包含调取授权", "The code carries no authorisation to fetch the licence",
           "refuse"),
    Reason("licence_not_valid", "证照已吊销、暂停或过期，不能调取", "The licence is revoked, suspended or expired: "
           "nothing to fetch", "refuse"),
    Reason("fetch_not_configured", "持证人授权调取证照，但本柜台未登记为调取柜台",
           "The holder authorised a fetch, but this counter is not registered to fetch licences", "refuse"),
    Reason("fetch_unreachable", "无法连接证照库，请稍后重试（核验结果不受影响）",
           "The licence library cannot be reached: try again (the verdict stands)", "retry"),
    Reason("fetch_unauthorised", "本柜台的调取凭据被拒绝，请联系技术人员",
           "The licence library refused this counter's credentials: call support", "refuse"),
    Reason("fetch_failed", "调取证照失败，请重试（核验结果不受影响）",
           "Fetching the licence failed: try again (the verdict stands)", "retry"),
)}

VALID = Reason("valid", "证照有效", "The licence is valid", "valid")
UNKNOWN = Reason("unknown", "证照无法核验", "The licence could not be checked", "refuse")


# Where a licence type gives a code a different meaning, what the clerk should hear instead.
TYPE_REASONS: dict[tuple[str, str], Reason] = {
    # The issuer suspends a health code when it issues a newer one (a colour change, another phone).
    ("health-code", "suspended"): Reason("suspended", "此健康码已被更新的码取代，请持证人刷新后重新出示",
                                         "This health code has been replaced by a newer one: ask the holder to refresh it",
                                         "retry"),
}


# A code a family member shows on someone's behalf (代为出示): the issuer revokes it when the authorisation ends.
PROXY_REASONS: dict[str, Reason] = {
    "revoked": Reason("revoked", "家人代为出示的授权已结束，此码不再有效，请本人出示自己的码",
                      "The family authorisation to show this code has ended: ask the person to show their own code",
                      "refuse"),
}


def explain(code: str, licence_type: str | None = None, *, proxy: bool = False) -> Reason:
    """The words for ``code``; an unknown code still gets a sentence (never a blank verdict). ``proxy``: the signed
    claims say a family member showed the code on someone's behalf."""
    return ((PROXY_REASONS.get(code) if proxy else None) or TYPE_REASONS.get((licence_type or "", code))
            or REASONS.get(code) or Reason(code, UNKNOWN.zh, UNKNOWN.en, UNKNOWN.action))
