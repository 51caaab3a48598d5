//! Who is calling: the `Authorization: Bearer` key of a request, hashed
//! with SHA-256 and compared in constant time with every tenant's digest
//! (all of them, whatever matches, so timing tells nothing about which or
//! how many bytes matched).

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::policy::TenantId;

/// The tenants' key digests.
#[derive(Clone, Debug)]
pub struct Keys {
    digests: Vec<Option<[u8; 32]>>,
}

impl Keys {
    /// Per tenant (by id), its key's digest if it can be reached.
    pub fn new(digests: Vec<Option<[u8; 32]>>) -> Keys {
        Keys { digests }
    }

    /// The tenant whose key is in `authorization` (the header's value).
    pub fn tenant(&self, authorization: Option<&[u8]>) -> Option<TenantId> {
        let key = authorization?.strip_prefix(b"Bearer ")?;
        let digest: [u8; 32] = Sha256::digest(key).into();
        let mut found: Option<TenantId> = None;
        for (i, d) in self.digests.iter().enumerate() {
            let Some(d) = d else { continue };
            if bool::from(d.ct_eq(&digest)) && found.is_none() {
                found = Some(TenantId(i as u32));
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_key_names_its_tenant() {
        let keys = Keys::new(vec![
            None,
            Some(Sha256::digest(b"alpha").into()),
            Some(Sha256::digest(b"beta").into()),
        ]);
        assert_eq!(keys.tenant(Some(b"Bearer beta")), Some(TenantId(2)));
        assert_eq!(keys.tenant(Some(b"Bearer alpha")), Some(TenantId(1)));
        for bad in [
            &b"Bearer alph"[..],
            b"Bearer alphaa",
            b"alpha",
            b"Bearer ",
            b"Basic alpha",
        ] {
            assert_eq!(keys.tenant(Some(bad)), None, "{:?}", String::from_utf8_lossy(bad));
        }
        assert_eq!(keys.tenant(None), None);
    }
}
