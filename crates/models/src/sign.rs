//! Signatures over catalog manifests.
//!
//! Two formats are accepted, so an organisation can sign with whatever it already has:
//! - **raw Ed25519**: the public key is 32 bytes in base64; the signature file holds the 64-byte
//!   signature of the manifest's exact bytes in base64;
//! - **minisign**: the public key is minisign's base64 line (`Ed` + key id + key); the signature
//!   file is what `minisign -S` writes. Both the legacy (`Ed`, the message itself) and the
//!   default prehashed (`ED`, BLAKE2b-512 of the message) forms are checked, and so is the
//!   global signature over the trusted comment; the key ids must match.

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
}

impl PublicKey {
    /// Parses a raw Ed25519 key (base64 of 32 bytes) or a minisign public key (the base64
    /// line of a `.pub` file, or the whole file).
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
        Ok(PublicKey { key, key_id })
    }

    /// Checks `signature` (the text of the signature file) over `message`.
    pub fn verify(&self, message: &[u8], signature: &str) -> Result<()> {
        let lines: Vec<&str> = signature.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
        let refused =
            |why: String| Error::Signature(format!("the catalog's signature is refused: {why}"));
        if lines.first().is_some_and(|l| l.starts_with("untrusted comment:")) {
            // minisign: untrusted comment, signature, trusted comment, global signature.
            let sig = STANDARD
                .decode(lines.get(1).copied().unwrap_or(""))
                .map_err(|e| refused(format!("not base64: {e}")))?;
            if sig.len() != 74 {
                return Err(refused(format!(
                    "a minisign signature has 74 bytes, this one {}",
                    sig.len()
                )));
            }
            let (alg, key_id, sig64) = (&sig[..2], &sig[2..10], &sig[10..]);
            if let Some(expected) = self.key_id
                && expected != key_id
            {
                return Err(refused("it was made with another key (key ids differ)".into()));
            }
            let signed: Vec<u8> = match alg {
                b"Ed" => message.to_vec(),
                b"ED" => {
                    use blake2::Digest;
                    blake2::Blake2b512::digest(message).to_vec()
                }
                other => {
                    return Err(refused(format!(
                        "unknown minisign algorithm {:?}",
                        String::from_utf8_lossy(other)
                    )));
                }
            };
            let signature = Signature::from_slice(sig64).map_err(|e| refused(e.to_string()))?;
            self.key.verify(&signed, &signature).map_err(|_| {
                refused("it does not match the manifest and the configured key".into())
            })?;
            let trusted = lines
                .get(2)
                .and_then(|l| l.strip_prefix("trusted comment:"))
                .map(|c| c.strip_prefix(' ').unwrap_or(c));
            let global = lines.get(3);
            if let (Some(trusted), Some(global)) = (trusted, global) {
                let global = STANDARD
                    .decode(global)
                    .map_err(|e| refused(format!("global signature not base64: {e}")))?;
                let global = Signature::from_slice(&global).map_err(|e| refused(e.to_string()))?;
                let mut both = sig64.to_vec();
                both.extend_from_slice(trusted.as_bytes());
                self.key
                    .verify(&both, &global)
                    .map_err(|_| refused("the trusted comment was altered".into()))?;
            } else {
                return Err(refused(
                    "the minisign trusted comment or its signature is missing".into(),
                ));
            }
            Ok(())
        } else {
            let raw = STANDARD
                .decode(lines.first().copied().unwrap_or(""))
                .map_err(|e| refused(format!("not base64: {e}")))?;
            let signature = Signature::from_slice(&raw).map_err(|_| {
                refused(format!("an Ed25519 signature has 64 bytes, this one {}", raw.len()))
            })?;
            self.key.verify(message, &signature).map_err(|_| {
                refused("it does not match the manifest and the configured key".into())
            })
        }
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
            let sig = self.0.sign(&digest).to_bytes();
            let mut line = b"ED".to_vec();
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
    fn malformed_keys_and_signatures_are_clear_errors() {
        assert!(PublicKey::parse("not base64!").is_err());
        assert!(PublicKey::parse("AAAA").unwrap_err().to_string().contains("3 bytes"));
        let key = PublicKey::parse(&signer::Signer::from_seed([7; 32]).public_key()).unwrap();
        assert!(key.verify(b"m", "").is_err());
        assert!(key.verify(b"m", "AAAA").unwrap_err().to_string().contains("64 bytes"));
    }
}
