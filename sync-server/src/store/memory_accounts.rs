//! `AccountStore` and `CardStore` in memory (see `memory.rs`).

use super::accounts::{
    AccountStore, DeviceRecord, EnrolmentRecord, Millis, PruneCutoffs, RefreshRecord, SigningKeyRecord, UserFact, UserRecord,
};
use super::cards::{CardKeyRecord, CardRecord, CardStore};
use super::memory::{now_ms, MemoryStore};
use super::{Inserted, StoreError};
use anola_protocol::auth::AuditEntry;
use async_trait::async_trait;
use uuid::Uuid;

fn inserted(new: bool) -> Inserted {
    if new {
        Inserted::Yes
    } else {
        Inserted::Taken
    }
}

#[async_trait]
impl AccountStore for MemoryStore {
    async fn insert_user(&self, user: &UserRecord) -> Result<Inserted, StoreError> {
        Ok(self.with(|s| {
            let name = user.username.to_lowercase();
            let taken = s.users.values().any(|u| u.username.to_lowercase() == name && u.id != user.id);
            if !taken {
                s.users.entry(user.id).or_insert_with(|| user.clone());
            }
            inserted(!taken)
        }))
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        let name = username.to_lowercase();
        Ok(self.with(|s| s.users.values().find(|u| u.username.to_lowercase() == name).cloned()))
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        Ok(self.with(|s| s.users.get(&id).cloned()))
    }

    async fn users_by_ids(&self, ids: &[Uuid]) -> Result<Vec<UserRecord>, StoreError> {
        Ok(self.with(|s| ids.iter().filter_map(|id| s.users.get(id).cloned()).collect()))
    }

    async fn users_of_clinic(&self, clinic_id: &str) -> Result<Vec<UserRecord>, StoreError> {
        Ok(self.with(|s| {
            s.users
                .values()
                .filter(|u| u.clinic_id.as_deref() == Some(clinic_id))
                .cloned()
                .collect()
        }))
    }

    async fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        Ok(self.with(|s| s.users.values().cloned().collect()))
    }

    async fn set_user_fact(&self, user: Uuid, fact: &UserFact) -> Result<(), StoreError> {
        // Facts live on the record itself here: the mutex already makes each change atomic.
        self.with(|s| s.users.get_mut(&user).map(|u| fact.apply(u)));
        Ok(())
    }

    async fn record_login_failure(&self, user_id: Uuid, at: Millis) -> Result<(), StoreError> {
        self.with(|s| s.login_failures.entry(user_id).or_default().push(at));
        Ok(())
    }

    async fn login_failures_since(&self, user_id: Uuid, since: Millis) -> Result<Vec<Millis>, StoreError> {
        Ok(self.with(|s| {
            let mut v: Vec<Millis> = s
                .login_failures
                .get(&user_id)
                .into_iter()
                .flatten()
                .copied()
                .filter(|at| *at >= since)
                .collect();
            v.sort_unstable();
            v
        }))
    }

    async fn clear_login_failures(&self, user_id: Uuid) -> Result<(), StoreError> {
        self.with(|s| s.login_failures.remove(&user_id));
        Ok(())
    }

    async fn insert_refresh(&self, r: &RefreshRecord) -> Result<(), StoreError> {
        self.with(|s| s.refresh.entry(r.hash.clone()).or_insert_with(|| r.clone()).clone());
        Ok(())
    }

    async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        Ok(self.with(|s| s.refresh.get(hash).cloned()))
    }

    async fn spend_refresh(&self, hash: &str) -> Result<Inserted, StoreError> {
        Ok(self.with(|s| inserted(s.refresh_spent.insert(hash.to_owned(), now_ms()).is_none())))
    }

    async fn revoke_family(&self, family: Uuid) -> Result<(), StoreError> {
        self.with(|s| s.revoked_families.entry(family).or_insert_with(now_ms).to_owned());
        Ok(())
    }

    async fn family_revoked(&self, family: Uuid) -> Result<bool, StoreError> {
        Ok(self.with(|s| s.revoked_families.contains_key(&family)))
    }

    async fn insert_enrolment(&self, e: &EnrolmentRecord) -> Result<(), StoreError> {
        self.with(|s| s.enrolments.entry(e.hash.clone()).or_insert_with(|| e.clone()).clone());
        Ok(())
    }

    async fn enrolment_by_hash(&self, hash: &str) -> Result<Option<EnrolmentRecord>, StoreError> {
        Ok(self.with(|s| s.enrolments.get(hash).cloned()))
    }

    async fn spend_enrolment(&self, hash: &str) -> Result<Inserted, StoreError> {
        Ok(self.with(|s| inserted(s.enrolments_spent.insert(hash.to_owned()))))
    }

    async fn insert_device(&self, d: &DeviceRecord) -> Result<(), StoreError> {
        self.with(|s| s.devices.entry(d.device_id.clone()).or_insert_with(|| d.clone()).clone());
        Ok(())
    }

    async fn device(&self, device_id: &str) -> Result<Option<DeviceRecord>, StoreError> {
        Ok(self.with(|s| {
            s.devices.get(device_id).cloned().map(|mut d| {
                d.revoked_at = s.device_revocations.get(device_id).copied();
                d
            })
        }))
    }

    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<Inserted, StoreError> {
        Ok(self.with(|s| {
            let new = !s.signing_keys.contains_key(&k.key_id);
            s.signing_keys.entry(k.key_id.clone()).or_insert_with(|| k.clone());
            inserted(new)
        }))
    }

    async fn signing_key(&self, key_id: &str) -> Result<Option<SigningKeyRecord>, StoreError> {
        Ok(self.with(|s| s.signing_keys.get(key_id).cloned()))
    }

    async fn devices_of_clinic(&self, clinic_id: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        Ok(self.with(|s| {
            s.devices
                .values()
                .filter(|d| d.clinic_id == clinic_id)
                .cloned()
                .map(|mut d| {
                    d.revoked_at = s.device_revocations.get(&d.device_id).copied();
                    d
                })
                .collect()
        }))
    }

    async fn revoke_device(&self, device_id: &str, at: Millis) -> Result<(), StoreError> {
        self.with(|s| s.device_revocations.entry(device_id.to_owned()).or_insert(at).to_owned());
        Ok(())
    }

    async fn insert_audit(&self, entries: &[AuditEntry], clinic_id: &str) -> Result<(), StoreError> {
        self.with(|s| {
            for e in entries {
                if !s.audit.iter().any(|(_, a)| a.id == e.id) {
                    s.audit.push((clinic_id.to_owned(), e.clone()));
                }
            }
        });
        Ok(())
    }

    async fn audit_for_patient(&self, clinic_id: &str, patient_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        Ok(self.with(|s| {
            let mut v: Vec<AuditEntry> = s
                .audit
                .iter()
                .filter(|(c, e)| c == clinic_id && e.patient_id == Some(patient_id))
                .map(|(_, e)| e.clone())
                .collect();
            v.sort_by(|a, b| a.at.cmp(&b.at));
            v
        }))
    }

    async fn prune(&self, c: &PruneCutoffs) -> Result<u64, StoreError> {
        Ok(self.with(|s| {
            let before = s.refresh.len() + s.enrolments.len() + s.refresh_spent.len() + s.revoked_families.len();
            let failures_before: usize = s.login_failures.values().map(Vec::len).sum();
            s.refresh.retain(|_, r| r.expires_at >= c.expired_before);
            s.enrolments.retain(|_, e| e.expires_at >= c.expired_before);
            s.refresh_spent.retain(|_, at| *at >= c.marks_before);
            s.revoked_families.retain(|_, at| *at >= c.marks_before);
            for v in s.login_failures.values_mut() {
                v.retain(|at| *at >= c.failures_before);
            }
            let after = s.refresh.len() + s.enrolments.len() + s.refresh_spent.len() + s.revoked_families.len();
            let failures_after: usize = s.login_failures.values().map(Vec::len).sum();
            (before - after + failures_before - failures_after) as u64
        }))
    }

    async fn token_secret(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.named_secret("token", candidate).await
    }
}

#[async_trait]
impl CardStore for MemoryStore {
    async fn card_keys(&self) -> Result<Vec<CardKeyRecord>, StoreError> {
        Ok(self.with(|s| s.card_keys.values().cloned().collect()))
    }

    async fn insert_card_key(&self, k: &CardKeyRecord) -> Result<Inserted, StoreError> {
        Ok(self.with(|s| match s.card_keys.entry(k.kid.clone()) {
            std::collections::btree_map::Entry::Occupied(_) => Inserted::Taken,
            std::collections::btree_map::Entry::Vacant(e) => {
                e.insert(k.clone());
                Inserted::Yes
            }
        }))
    }

    async fn replace_card_key(&self, k: &CardKeyRecord) -> Result<(), StoreError> {
        self.with(|s| s.card_keys.insert(k.kid.clone(), k.clone()));
        Ok(())
    }

    async fn insert_card(&self, c: &CardRecord) -> Result<Inserted, StoreError> {
        Ok(self.with(|s| match s.cards.entry(c.card_id.clone()) {
            std::collections::hash_map::Entry::Occupied(_) => Inserted::Taken,
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(c.clone());
                Inserted::Yes
            }
        }))
    }

    async fn cards_of_patient(&self, patient_id: Uuid) -> Result<Vec<CardRecord>, StoreError> {
        Ok(self.cards_where(|c| c.patient_id == patient_id))
    }

    async fn cards_of_clinic(&self, clinic_id: &str) -> Result<Vec<CardRecord>, StoreError> {
        Ok(self.cards_where(|c| c.clinic_id == clinic_id))
    }

    async fn all_cards(&self) -> Result<Vec<CardRecord>, StoreError> {
        Ok(self.cards_where(|_| true))
    }

    async fn card(&self, card_id: &str) -> Result<Option<CardRecord>, StoreError> {
        Ok(self.cards_where(|c| c.card_id == card_id).pop())
    }

    async fn revoke_card(&self, card_id: &str, at: Millis, _reason: &str) -> Result<(), StoreError> {
        self.with(|s| s.card_revocations.entry(card_id.to_owned()).or_insert(at).to_owned());
        Ok(())
    }

    async fn named_secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        Ok(self.with(|s| s.secrets.entry(name.to_owned()).or_insert_with(|| candidate.to_vec()).clone()))
    }
}

impl MemoryStore {
    fn cards_where(&self, keep: impl Fn(&CardRecord) -> bool) -> Vec<CardRecord> {
        self.with(|s| {
            let mut v: Vec<CardRecord> = s
                .cards
                .values()
                .filter(|c| keep(c))
                .cloned()
                .map(|mut c| {
                    c.revoked_at = s.card_revocations.get(&c.card_id).copied();
                    c
                })
                .collect();
            v.sort_by_key(|c| c.issued_at);
            v
        })
    }
}
