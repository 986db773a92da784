//! Signatures over catalog manifests.
//!
//! Two formats are accepted, so an organisation can sign with whatever it already has:
//! - **raw Ed25519**: the public key is 32 bytes in base64; the signature file holds the 64-byte
//!   signature of the manifest's exact bytes in base64;
//! - **minisign**: the public key is minisign's base64 line (`Ed` + key id + key); the signature
//!   file is what `minisign -S` writes, checked by `minisign-verify` (by minisign's author):
//!   the prehashed form (`ED`, BLAKE2b-512 of the message, minisign's default since 0.8), the
//!   global signature over the trusted comment, and the key id. A legacy signature (`Ed`, over
//!   the message itself) is refused unless [`PublicKey::allow_legacy`] says otherwise (the
//!   setting `[models] allow_legacy_signatures`).

use crate::{Error, Result};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signature, Verifier, VerifyingKey};

/// A configured public key.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: VerifyingKey,
    /// minisign's key id, when the key came in minisign's format.
    key_id: Option<[u8; 8]>,
    /// Whether a legacy (not prehashed) minisign signature is accepted.
    allow_legacy: bool,
}

impl PublicKey {
    /// Parses a raw Ed25519 key (base64 of 32 bytes) or a minisign public key (the base64
    /// line of a `.pub` file, or the whole file). Legacy minisign signatures are refused.
    pub fn parse(text: &str) -> Result<PublicKey> {
        let line = text
            .lines()
            .map(str::trim)
            .rfind(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
            .unwrap_or("");
        let bytes = STANDARD
            .decode(line)
            .map_err(|e| Error::BadInput(format!("the catalog public key is not base64: {e}")))?;
        let (key_id, raw): (Option<[u8; 8]>, &[u8]) = match bytes.len() {
            32 => (None, &bytes[..]),
            42 if &bytes[..2] == b"Ed" => {
                (Some(bytes[2..10].try_into().unwrap_or([0; 8])), &bytes[10..])
            }
            n => {
                return Err(Error::BadInput(format!(
                    "the catalog public key has {n} bytes: expected a 32-byte Ed25519 key or a minisign public key"
                )));
            }
        };
        let raw: [u8; 32] = raw
            .try_into()
            .map_err(|_| Error::BadInput("the catalog public key is malformed".into()))?;
        let key = VerifyingKey::from_bytes(&raw).map_err(|e| {
            Error::BadInput(format!("the catalog public key is not a valid Ed25519 key: {e}"))
        })?;
        Ok(PublicKey { key, key_id, allow_legacy: false })
    }

    /// Accepts legacy minisign signatures (made by minisign before 0.8, or with `-l`) when
    /// `allow` is true.
    pub fn allow_legacy(mut self, allow: bool) -> PublicKey {
        self.allow_legacy = allow;
        self
    }

    /// Checks `signature` (the text of the signature file) over `message`.
    pub fn verify(&self, message: &[u8], signature: &str) -> Result<()> {
        let refused =
            |why: String| Error::Signature(format!("the catalog's signature is refused: {why}"));
        let trimmed = signature.trim_start();
        if trimmed.starts_with("untrusted comment:") {
            self.verify_minisign(message, trimmed).map_err(refused)
        } else {
            let raw = STANDARD
                .decode(trimmed.lines().next().unwrap_or("").trim())
                .map_err(|e| refused(format!("not base64: {e}")))?;
            let signature = Signature::from_slice(&raw).map_err(|_| {
                refused(format!("an Ed25519 signature has 64 bytes, this one {}", raw.len()))
            })?;
            self.key.verify(message, &signature).map_err(|_| {
                refused("it does not match the manifest and the configured key".into())
            })
        }
    }

    /// A minisign signature file, checked by `minisign-verify`.
    fn verify_minisign(&self, message: &[u8], text: &str) -> std::result::Result<(), String> {
        use minisign_verify::Error as E;
        // minisign-verify reads exactly four lines; blank lines and trailing spaces (a file
        // that went through an editor or a mail client) are not the signer's doing.
        // The trusted comment (line 3) is signed as written: only a line ending's CR goes.
        let lines: Vec<&str> = text
            .lines()
            .map(|l| {
                if l.starts_with("trusted comment:") {
                    l.trim_end_matches('\r')
                } else {
                    l.trim_end()
                }
            })
            .filter(|l| !l.is_empty())
            .collect();
        if lines.len() < 4 {
            return Err("the minisign trusted comment or its signature is missing".into());
        }
        let signature = minisign_verify::Signature::decode(&lines[..4].join("\n"))
            .map_err(|e| match e {
                E::UnsupportedAlgorithm => "unknown minisign algorithm".to_string(),
                _ => "it is not a well-formed minisign signature (4 lines: two comments, two base64 signatures of 74 and 64 bytes)".to_string(),
            })?;
        // The key as minisign-verify takes it: algorithm, key id, key. A raw key has no key
        // id of its own, so it takes the signature's.
        let sig_line = STANDARD.decode(lines[1]).map_err(|e| format!("not base64: {e}"))?;
        let key_id: [u8; 8] =
            self.key_id.unwrap_or_else(|| sig_line[2..10].try_into().unwrap_or([0; 8]));
        let mut key = b"Ed".to_vec();
        key.extend_from_slice(&key_id);
        key.extend_from_slice(self.key.as_bytes());
        let key = minisign_verify::PublicKey::from_base64(&STANDARD.encode(key))
            .map_err(|e| format!("the configured key: {e}"))?;
        key.verify(message, &signature, self.allow_legacy).map_err(|e| match e {
            E::UnexpectedKeyId => "it was made with another key (key ids differ)".to_string(),
            E::UnexpectedAlgorithm => "it is a legacy minisign signature (not prehashed); re-sign with a current minisign, or set [models] allow_legacy_signatures = true to accept it".to_string(),
            E::InvalidSignature => {
                // Which of the two signatures failed: the one over the manifest, or the
                // global one over the trusted comment.
                if self.signs(message, &sig_line[10..]) {
                    "the trusted comment was altered".to_string()
                } else {
                    "it does not match the manifest and the configured key".to_string()
                }
            }
            other => other.to_string(),
        })
    }

    /// Whether `sig64` is this key's signature of `message` in minisign's prehashed or
    /// legacy form (only to name the failing part of a refused signature).
    fn signs(&self, message: &[u8], sig64: &[u8]) -> bool {
        use blake2::Digest;
        let Ok(sig) = Signature::from_slice(sig64) else { return false };
        self.key.verify(&blake2::Blake2b512::digest(message), &sig).is_ok()
            || (self.allow_legacy && self.key.verify(message, &sig).is_ok())
    }
}

/// Signing, for tests, benchmarks and organisations without minisign at hand.
pub mod signer {
    use super::*;
    use ed25519_dalek::{Signer as _, SigningKey};

    pub struct Signer(SigningKey);

    impl Signer {
        pub fn from_seed(seed: [u8; 32]) -> Signer {
            Signer(SigningKey::from_bytes(&seed))
        }

        /// The public half, as the app's configuration takes it (raw, base64).
        pub fn public_key(&self) -> String {
            STANDARD.encode(self.0.verifying_key().to_bytes())
        }

        /// A raw signature file for `message`.
        pub fn sign(&self, message: &[u8]) -> String {
            STANDARD.encode(self.0.sign(message).to_bytes())
        }

        /// The public key in minisign's format, with key id `id`.
        pub fn minisign_public_key(&self, id: [u8; 8]) -> String {
            let mut b = b"Ed".to_vec();
            b.extend_from_slice(&id);
            b.extend_from_slice(&self.0.verifying_key().to_bytes());
            format!("untrusted comment: minisign public key\n{}\n", STANDARD.encode(b))
        }

        /// A minisign signature file (prehashed, as `minisign -S` makes by default).
        pub fn minisign(&self, message: &[u8], id: [u8; 8], trusted_comment: &str) -> String {
            use blake2::Digest;
            let digest = blake2::Blake2b512::digest(message);
            self.minisign_of(b"ED", &digest, id, trusted_comment)
        }

        /// A legacy minisign signature file (over the message itself, as minisign before
        /// 0.8 made): refused unless allowed.
        pub fn minisign_legacy(
            &self,
            message: &[u8],
            id: [u8; 8],
            trusted_comment: &str,
        ) -> String {
            self.minisign_of(b"Ed", message, id, trusted_comment)
        }

        fn minisign_of(
            &self,
            alg: &[u8; 2],
            signed: &[u8],
            id: [u8; 8],
            trusted_comment: &str,
        ) -> String {
            let sig = self.0.sign(signed).to_bytes();
            let mut line = alg.to_vec();
            line.extend_from_slice(&id);
            line.extend_from_slice(&sig);
            let mut both = sig.to_vec();
            both.extend_from_slice(trusted_comment.as_bytes());
            let global = self.0.sign(&both).to_bytes();
            format!(
                "untrusted comment: signature from minisign secret key\n{}\ntrusted comment: {trusted_comment}\n{}\n",
                STANDARD.encode(line),
                STANDARD.encode(global)
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::signer::Signer;
    use super::*;

    #[test]
    fn raw_and_minisign_signatures_verify_and_any_change_is_refused() {
        let s = Signer::from_seed([7; 32]);
        let msg = br#"{"models":[]}"#;
        let raw = PublicKey::parse(&s.public_key()).unwrap();
        raw.verify(msg, &s.sign(msg)).unwrap();
        assert!(matches!(raw.verify(b"{\"models\":[1]}", &s.sign(msg)), Err(Error::Signature(_))));
        let other = PublicKey::parse(&Signer::from_seed([8; 32]).public_key()).unwrap();
        assert!(other.verify(msg, &s.sign(msg)).is_err());

        let id = [1, 2, 3, 4, 5, 6, 7, 8];
        let mini = PublicKey::parse(&s.minisign_public_key(id)).unwrap();
        let sig = s.minisign(msg, id, "timestamp:1 file:catalog.json");
        mini.verify(msg, &sig).unwrap();
        assert!(mini.verify(b"tampered", &sig).is_err());
        let altered = sig.replace("timestamp:1", "timestamp:2");
        assert!(mini.verify(msg, &altered).unwrap_err().to_string().contains("trusted comment"));
        let wrong_id = PublicKey::parse(&s.minisign_public_key([9; 8])).unwrap();
        assert!(wrong_id.verify(msg, &sig).unwrap_err().to_string().contains("key ids differ"));
        // The raw key also checks a minisign file.
        raw.verify(msg, &sig).unwrap();
    }

    #[test]
    fn legacy_minisign_signatures_are_refused_unless_allowed() {
        let s = Signer::from_seed([7; 32]);
        let msg = br#"{"models":[]}"#;
        let id = [1, 2, 3, 4, 5, 6, 7, 8];
        let legacy = s.minisign_legacy(msg, id, "timestamp:1");
        let key = PublicKey::parse(&s.minisign_public_key(id)).unwrap();
        let err = key.verify(msg, &legacy).unwrap_err().to_string();
        assert!(err.contains("legacy") && err.contains("allow_legacy_signatures"), "{err}");
        let lenient = key.clone().allow_legacy(true);
        lenient.verify(msg, &legacy).unwrap();
        assert!(lenient.verify(b"tampered", &legacy).is_err());
        // The prehashed form is accepted either way.
        key.verify(msg, &s.minisign(msg, id, "timestamp:1")).unwrap();
        // Blank lines, CRLF and trailing spaces around a signature are not a refusal; a
        // trusted comment that ends in a space is signed with it.
        let spaced = s.minisign(msg, id, "t").replace('\n', "\r\n\n").replacen("\r\n", "  \n", 1);
        key.verify(msg, &spaced).unwrap();
        key.verify(msg, &s.minisign(msg, id, "ends with a space ")).unwrap();
    }

    #[test]
    fn malformed_keys_and_signatures_are_clear_errors() {
        assert!(PublicKey::parse("not base64!").is_err());
        assert!(PublicKey::parse("AAAA").unwrap_err().to_string().contains("3 bytes"));
        let key = PublicKey::parse(&signer::Signer::from_seed([7; 32]).public_key()).unwrap();
        assert!(key.verify(b"m", "").is_err());
        assert!(key.verify(b"m", "AAAA").unwrap_err().to_string().contains("64 bytes"));
    }
}
