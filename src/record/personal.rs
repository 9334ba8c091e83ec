//! Personal data found in a call (个人信息) as the record stores it: where it is and its masked
//! form, never the raw value. Detection and masking are in `crate::pii`.

use super::Role;
use serde::{Deserialize, Serialize};

/// A type of personal data.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Mainland mobile number (11 digits, 1[3-9]…, optionally +86).
    Mobile,
    /// Landline with area code (0…, 10–12 digits), or a 7–8 digit number after 座机/固话.
    Landline,
    /// 18-digit resident ID number (身份证号).
    IdCard,
    /// Bank card number (16–19 digits).
    BankCard,
    /// Verification code or password digits after a prompt (验证码, 密码 …).
    Code,
    Email,
    /// Licence plate (粤B12345).
    Plate,
    /// Postal address (pattern-based; see the README for how reliable it is).
    Address,
    /// Person name after 我叫 / 名字是 / 持卡人 (pattern-based).
    Name,
}

impl Kind {
    pub const ALL: [Kind; 9] = [
        Kind::Mobile,
        Kind::Landline,
        Kind::IdCard,
        Kind::BankCard,
        Kind::Code,
        Kind::Email,
        Kind::Plate,
        Kind::Address,
        Kind::Name,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Mobile => "mobile",
            Kind::Landline => "landline",
            Kind::IdCard => "id_card",
            Kind::BankCard => "bank_card",
            Kind::Code => "code",
            Kind::Email => "email",
            Kind::Plate => "plate",
            Kind::Address => "address",
            Kind::Name => "name",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// Chinese label for reports.
    pub fn zh(self) -> &'static str {
        match self {
            Kind::Mobile => "手机号",
            Kind::Landline => "固话",
            Kind::IdCard => "身份证号",
            Kind::BankCard => "银行卡号",
            Kind::Code => "验证码/密码",
            Kind::Email => "邮箱",
            Kind::Plate => "车牌",
            Kind::Address => "地址",
            Kind::Name => "姓名",
        }
    }
}

/// One piece of personal data in one utterance. A number read across two utterances is two
/// entities with the same `group`.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Entity {
    pub kind: Kind,
    /// `Utterance::id` of the utterance it is in.
    pub utterance: usize,
    pub role: Role,
    /// Character offsets (not bytes) into the utterance text, end exclusive.
    pub start: usize,
    pub end: usize,
    /// When it was said (seconds from the start of the recording): from the utterance's
    /// character times where the recogniser gave them, else in proportion to the characters.
    pub start_s: f64,
    pub end_s: f64,
    /// Parts of one value (split across utterances) share a group number.
    pub group: usize,
    /// The part as it reads once masked (never the raw value).
    pub masked: String,
}
