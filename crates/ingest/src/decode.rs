//! Character decoding: UTF-8 (with or without BOM), UTF-16 with BOM, otherwise the legacy
//! encoding `chardetng` detects. A BOM is a promise: bytes that break it are an error, not a
//! guess.

use crate::Problem;
use encoding_rs::{Encoding, UTF_16BE, UTF_16LE};

pub struct Decoded {
    pub text: String,
    pub encoding: &'static str,
    pub notices: Vec<String>,
}

pub fn decode(bytes: &[u8]) -> Result<Decoded, Problem> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return match std::str::from_utf8(rest) {
            Ok(s) => Ok(Decoded { text: s.to_string(), encoding: "UTF-8", notices: vec![] }),
            Err(e) => Err(Problem::InvalidUtf8 { offset: 3 + e.valid_up_to() }),
        };
    }
    for (bom, encoding) in [(&b"\xFF\xFE"[..], UTF_16LE), (&b"\xFE\xFF"[..], UTF_16BE)] {
        if let Some(rest) = bytes.strip_prefix(bom) {
            if rest.len() % 2 != 0 {
                return Err(Problem::InvalidUtf16("odd number of bytes (the file is cut short)"));
            }
            return match encoding.decode_without_bom_handling_and_without_replacement(rest) {
                Some(text) => Ok(Decoded {
                    text: text.into_owned(),
                    encoding: encoding.name(),
                    notices: vec![],
                }),
                None => Err(Problem::InvalidUtf16("unpaired surrogate")),
            };
        }
    }
    if let Ok(s) = std::str::from_utf8(bytes) {
        return Ok(Decoded { text: s.to_string(), encoding: "UTF-8", notices: vec![] });
    }
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    detector.feed(bytes, true);
    let encoding: &'static Encoding = detector.guess(None, chardetng::Utf8Detection::Deny);
    let (text, _, had_errors) = encoding.decode(bytes);
    let mut notices = vec![format!("decoded as {} (not UTF-8)", encoding.name())];
    if had_errors {
        notices
            .push(format!("some bytes are not valid {} and were replaced with �", encoding.name()));
    }
    Ok(Decoded { text: text.into_owned(), encoding: encoding.name(), notices })
}
