//! `AccountStore` on MongoDB / FerretDB: inserts into unique `_id`s for every once-only decision.
//!
//! Collections (all `_id` strings): `users` (user id), `claims` (`username:<lowercase>`),
//! `login_failures` (random), `refresh_tokens` / `refresh_spent` (token hash), `revoked_families`
//! (family id), `enrolment_codes` / `enrolment_used` (code hash), `devices` / `device_revocations`
//! (device id), `audit` (entry id), `server_secrets` (`token`).

use super::accounts::{AccountStore, DeviceRecord, EnrolmentRecord, Millis, RefreshRecord, SigningKeyRecord, UserFact, UserRecord};
use super::mongo::{from_bson, to_bson, unavailable, MongoStore};
use super::{Inserted, StoreError};
use anola_protocol::auth::AuditEntry;
use async_trait::async_trait;
use base64::Engine;
use futures::TryStreamExt;
use mongodb::bson::{doc, Bson, Document};
use uuid::Uuid;

pub(super) fn record_doc<T: serde::Serialize>(id: &str, v: &T) -> Result<Document, StoreError> {
    let mut d = match to_bson(v)? {
        Bson::Document(d) => d,
        _ => return Err(StoreError::Corrupt("record is not a document".into())),
    };
    d.insert("_id", id);
    Ok(d)
}

pub(super) fn from_doc<T: serde::de::DeserializeOwned>(mut d: Document) -> Result<T, StoreError> {
    d.remove("_id");
    from_bson(Bson::Document(d))
}

fn totp_aad(user: Uuid) -> String {
    format!("totp:{user}")
}

impl MongoStore {
    fn seal(&self, aad: &str, plain: &str) -> Result<String, StoreError> {
        super::sealing::seal_with(self.sealer.as_deref(), aad, plain)
    }

    fn open(&self, aad: &str, stored: &str) -> Result<super::sealing::Opened, StoreError> {
        super::sealing::open_with(self.sealer.as_deref(), aad, stored)
    }

    fn user_doc(&self, u: &UserRecord) -> Result<Document, StoreError> {
        let mut sealed = u.clone();
        sealed.totp_secret = u.totp_secret.as_deref().map(|t| self.seal(&totp_aad(u.id), t)).transpose()?;
        let mut d = record_doc(&u.id.to_string(), &sealed)?;
        d.insert("username_lower", u.username.to_lowercase());
        Ok(d)
    }

    fn user_from(&self, mut d: Document) -> Result<UserRecord, StoreError> {
        d.remove("username_lower");
        let mut u: UserRecord = from_doc(d)?;
        u.totp_secret = u
            .totp_secret
            .as_deref()
            .map(|t| self.open(&totp_aad(u.id), t).map(|o| o.value))
            .transpose()?;
        Ok(u)
    }

    fn device_from(&self, d: Document) -> Result<DeviceRecord, StoreError> {
        let mut rec: DeviceRecord = from_doc(d)?;
        rec.kek = self.open(&format!("device_kek:{}", rec.device_id), &rec.kek)?.value;
        Ok(rec)
    }
}

/// Facts about accounts that change after creation, one document each (`<user id>:<fact>`); a
/// fact's document overrides the field the user document was created with.
const USER_FACTS: &str = "user_facts";

fn fact_key(user: Uuid, fact: &str) -> String {
    format!("{user}:{fact}")
}

impl MongoStore {
    /// The user with every changed fact applied (the fact documents are read concurrently).
    async fn with_facts(&self, mut u: UserRecord) -> Result<UserRecord, StoreError> {
        let keys = UserFact::NAMES.map(|f| fact_key(u.id, f));
        for d in futures::future::join_all(keys.iter().map(|k| self.find_by_id(USER_FACTS, k))).await {
            if let Some(d) = d? {
                let mut fact: UserFact = from_doc(d)?;
                if let UserFact::Totp { secret: Some(t), .. } = &mut fact {
                    *t = self.open(&totp_aad(u.id), t)?.value;
                }
                fact.apply(&mut u);
            }
        }
        Ok(u)
    }

    async fn users_with_facts(&self, docs: Vec<Document>) -> Result<Vec<UserRecord>, StoreError> {
        let mut out = Vec::with_capacity(docs.len());
        for d in docs {
            out.push(self.with_facts(self.user_from(d)?).await?);
        }
        Ok(out)
    }
}

fn failure_key(user_id: Uuid, window: i64, k: u32) -> String {
    format!("{user_id}:{window}:{k:03}")
}

impl MongoStore {
    /// A user's sign-in failures in the lockout windows from `since` to now: (`_id`, at).
    async fn recent_failures(&self, user_id: Uuid, since: Millis) -> Result<Vec<(String, Millis)>, StoreError> {
        // Only the current and the previous window can hold failures that lock anyone (older
        // ones are pruned), so `since` earlier than that reads those two windows only.
        let last = crate::auth::now_ms().div_euclid(crate::auth::LOCK_MS);
        let first = since.div_euclid(crate::auth::LOCK_MS).clamp(last - 1, last);
        let mut out = Vec::new();
        for window in first..=last {
            // Failures of a window are numbered densely from 0; a cleared one leaves a gap, so
            // look a few numbers past the first missing one.
            let (mut k, mut missing) = (0u32, 0u32);
            while missing < 3 {
                let id = failure_key(user_id, window, k);
                match self.find_by_id("login_failures", &id).await? {
                    Some(d) => {
                        missing = 0;
                        if let Ok(at) = d.get_i64("at") {
                            out.push((id, at));
                        }
                    }
                    None => missing += 1,
                }
                k += 1;
            }
        }
        Ok(out)
    }

    pub(super) async fn find_all(&self, coll: &str, filter: Document) -> Result<Vec<Document>, StoreError> {
        self.coll(coll)
            .find(filter)
            .await
            .map_err(unavailable)?
            .try_collect()
            .await
            .map_err(unavailable)
    }

    pub(super) async fn find_by_id(&self, coll: &str, id: &str) -> Result<Option<Document>, StoreError> {
        self.coll(coll).find_one(doc! {"_id": id}).await.map_err(unavailable)
    }

    pub(super) async fn insert_once(&self, coll: &str, d: Document) -> Result<Inserted, StoreError> {
        match self.coll(coll).insert_one(d).await {
            Ok(_) => Ok(Inserted::Yes),
            Err(e) if super::mongo::is_duplicate_key(&e) => Ok(Inserted::Taken),
            Err(e) => Err(unavailable(e)),
        }
    }
}

#[async_trait]
impl AccountStore for MongoStore {
    async fn insert_user(&self, user: &UserRecord) -> Result<Inserted, StoreError> {
        // The name is claimed first: two administrators creating one name at once get one user.
        let key = format!("username:{}", user.username.to_lowercase());
        if self
            .insert_once("claims", doc! {"_id": &key, "holder": user.id.to_string()})
            .await?
            == Inserted::Taken
        {
            let holder = self.find_by_id("claims", &key).await?;
            let mine = holder.as_ref().and_then(|d| d.get_str("holder").ok()) == Some(user.id.to_string().as_str());
            if !mine {
                return Ok(Inserted::Taken);
            }
        }
        self.insert_once("users", self.user_doc(user)?).await?;
        Ok(Inserted::Yes)
    }

    async fn user_by_username(&self, username: &str) -> Result<Option<UserRecord>, StoreError> {
        // Two point reads: the name's claim names its holder (`insert_user` claims it first), then
        // the user by id. A claim whose user was never written (a crash between the two inserts)
        // reads as no user.
        let key = format!("username:{}", username.to_lowercase());
        let Some(holder) = self
            .find_by_id("claims", &key)
            .await?
            .and_then(|d| d.get_str("holder").ok().and_then(|h| h.parse::<Uuid>().ok()))
        else {
            return Ok(None);
        };
        self.user_by_id(holder).await
    }

    async fn user_by_id(&self, id: Uuid) -> Result<Option<UserRecord>, StoreError> {
        match self.find_by_id("users", &id.to_string()).await? {
            Some(d) => Ok(Some(self.with_facts(self.user_from(d)?).await?)),
            None => Ok(None),
        }
    }

    async fn users_by_ids(&self, ids: &[Uuid]) -> Result<Vec<UserRecord>, StoreError> {
        // One point read per id, concurrently (an `$in` scans the collection on FerretDB).
        let found = futures::future::join_all(ids.iter().map(|id| self.user_by_id(*id))).await;
        let mut out = Vec::with_capacity(ids.len());
        for u in found {
            if let Some(u) = u? {
                out.push(u);
            }
        }
        Ok(out)
    }

    async fn users_of_clinic(&self, clinic_id: &str) -> Result<Vec<UserRecord>, StoreError> {
        let docs = self.find_all("users", doc! {"clinic_id": clinic_id}).await?;
        self.users_with_facts(docs).await
    }

    async fn all_users(&self) -> Result<Vec<UserRecord>, StoreError> {
        let docs = self.find_all("users", doc! {}).await?;
        self.users_with_facts(docs).await
    }

    async fn set_user_fact(&self, user: Uuid, fact: &UserFact) -> Result<(), StoreError> {
        // Its own document: replacing it cannot touch another fact of the same account.
        let key = fact_key(user, fact.name());
        let mut stored = fact.clone();
        if let UserFact::Totp { secret: Some(t), .. } = &mut stored {
            *t = self.seal(&totp_aad(user), t)?;
        }
        self.coll(USER_FACTS)
            .replace_one(doc! {"_id": &key}, record_doc(&key, &stored)?)
            .upsert(true)
            .await
            .map_err(unavailable)?;
        Ok(())
    }

    async fn record_login_failure(&self, user_id: Uuid, at: Millis) -> Result<(), StoreError> {
        // One document per failure under `<user>:<window>:<k>`: the k-th failure in the lockout
        // window holding `at`. Unique inserts count without an atomic counter, and the failures
        // that matter are found with point reads.
        let window = at.div_euclid(crate::auth::LOCK_MS);
        for k in 0.. {
            let d = doc! {"_id": failure_key(user_id, window, k), "user_id": user_id.to_string(), "at": at};
            if self.insert_once("login_failures", d).await? == Inserted::Yes {
                break;
            }
        }
        Ok(())
    }

    async fn login_failures_since(&self, user_id: Uuid, since: Millis) -> Result<Vec<Millis>, StoreError> {
        let mut at: Vec<Millis> = self
            .recent_failures(user_id, since)
            .await?
            .into_iter()
            .map(|(_, t)| t)
            .filter(|t| *t >= since)
            .collect();
        at.sort_unstable();
        Ok(at)
    }

    async fn clear_login_failures(&self, user_id: Uuid) -> Result<(), StoreError> {
        // Only failures inside the lockout window can lock anyone; older ones are pruned.
        let since = crate::auth::now_ms() - crate::auth::LOCK_MS;
        for (id, _) in self.recent_failures(user_id, since).await? {
            self.coll("login_failures")
                .delete_one(doc! {"_id": id})
                .await
                .map_err(unavailable)?;
        }
        Ok(())
    }

    async fn insert_refresh(&self, r: &RefreshRecord) -> Result<(), StoreError> {
        self.insert_once("refresh_tokens", record_doc(&r.hash, r)?).await?;
        Ok(())
    }

    async fn refresh_by_hash(&self, hash: &str) -> Result<Option<RefreshRecord>, StoreError> {
        self.find_by_id("refresh_tokens", hash).await?.map(from_doc).transpose()
    }

    async fn spend_refresh(&self, hash: &str) -> Result<Inserted, StoreError> {
        self.insert_once("refresh_spent", doc! {"_id": hash, "at": super::mongo::now()})
            .await
    }

    async fn revoke_family(&self, family: Uuid) -> Result<(), StoreError> {
        self.insert_once("revoked_families", doc! {"_id": family.to_string(), "at": super::mongo::now()})
            .await?;
        Ok(())
    }

    async fn family_revoked(&self, family: Uuid) -> Result<bool, StoreError> {
        Ok(self.find_by_id("revoked_families", &family.to_string()).await?.is_some())
    }

    async fn insert_enrolment(&self, e: &EnrolmentRecord) -> Result<(), StoreError> {
        self.insert_once("enrolment_codes", record_doc(&e.hash, e)?).await?;
        Ok(())
    }

    async fn enrolment_by_hash(&self, hash: &str) -> Result<Option<EnrolmentRecord>, StoreError> {
        self.find_by_id("enrolment_codes", hash).await?.map(from_doc).transpose()
    }

    async fn spend_enrolment(&self, hash: &str) -> Result<Inserted, StoreError> {
        self.insert_once("enrolment_used", doc! {"_id": hash, "at": super::mongo::now()})
            .await
    }

    async fn insert_device(&self, d: &DeviceRecord) -> Result<(), StoreError> {
        let mut sealed = d.clone();
        sealed.kek = self.seal(&format!("device_kek:{}", d.device_id), &d.kek)?;
        self.insert_once("devices", record_doc(&d.device_id, &sealed)?).await?;
        Ok(())
    }

    async fn device(&self, device_id: &str) -> Result<Option<DeviceRecord>, StoreError> {
        let Some(d) = self.find_by_id("devices", device_id).await? else {
            return Ok(None);
        };
        let mut rec = self.device_from(d)?;
        // The revocation is its own insert-once document, so it cannot be lost to a racing rewrite.
        if let Some(r) = self.find_by_id("device_revocations", device_id).await? {
            rec.revoked_at = r.get_i64("at").ok();
        }
        Ok(Some(rec))
    }

    async fn insert_signing_key(&self, k: &SigningKeyRecord) -> Result<Inserted, StoreError> {
        // Public keys only: nothing here is secret, so nothing is sealed.
        self.insert_once("signing_keys", record_doc(&k.key_id, k)?).await
    }

    async fn signing_key(&self, key_id: &str) -> Result<Option<SigningKeyRecord>, StoreError> {
        self.find_by_id("signing_keys", key_id).await?.map(from_doc).transpose()
    }

    async fn devices_of_clinic(&self, clinic_id: &str) -> Result<Vec<DeviceRecord>, StoreError> {
        let revoked: std::collections::HashMap<String, Millis> = self
            .find_all("device_revocations", doc! {})
            .await?
            .into_iter()
            .filter_map(|d| Some((d.get_str("_id").ok()?.to_owned(), d.get_i64("at").ok()?)))
            .collect();
        self.find_all("devices", doc! {"clinic_id": clinic_id})
            .await?
            .into_iter()
            .map(|d| {
                let mut rec = self.device_from(d)?;
                rec.revoked_at = revoked.get(&rec.device_id).copied();
                Ok(rec)
            })
            .collect()
    }

    async fn revoke_device(&self, device_id: &str, at: Millis) -> Result<(), StoreError> {
        self.insert_once("device_revocations", doc! {"_id": device_id, "at": at}).await?;
        Ok(())
    }

    async fn insert_audit(&self, entries: &[AuditEntry], clinic_id: &str) -> Result<(), StoreError> {
        if entries.is_empty() {
            return Ok(());
        }
        let docs = entries
            .iter()
            .map(|e| {
                let mut d = record_doc(&e.id.to_string(), e)?;
                d.insert("clinic_id", clinic_id);
                Ok(d)
            })
            .collect::<Result<Vec<_>, StoreError>>()?;
        // Unordered and duplicate-tolerant: a retried push stores each entry once.
        match self.coll("audit").insert_many(docs).ordered(false).await {
            Ok(_) => Ok(()),
            Err(e) => match e.kind.as_ref() {
                mongodb::error::ErrorKind::InsertMany(ime)
                    if ime.write_concern_error.is_none() && ime.write_errors.iter().flatten().all(|w| w.code == 11000) =>
                {
                    Ok(())
                }
                _ => Err(unavailable(e)),
            },
        }
    }

    async fn audit_for_patient(&self, clinic_id: &str, patient_id: Uuid) -> Result<Vec<AuditEntry>, StoreError> {
        let mut out: Vec<AuditEntry> = self
            .find_all("audit", doc! {"clinic_id": clinic_id, "patient_id": patient_id.to_string()})
            .await?
            .into_iter()
            .map(|mut d| {
                d.remove("clinic_id");
                from_doc(d)
            })
            .collect::<Result<_, _>>()?;
        out.sort_by(|a, b| a.at.cmp(&b.at));
        Ok(out)
    }

    async fn prune(&self, c: &super::accounts::PruneCutoffs) -> Result<u64, StoreError> {
        // Range deletes scan their collection on FerretDB: this runs in the background every few
        // minutes, never on a request, and each collection only holds what is still live.
        let marks = mongodb::bson::DateTime::from_millis(c.marks_before);
        let deletes = [
            ("refresh_tokens", doc! {"expires_at": {"$lt": c.expired_before}}),
            ("enrolment_codes", doc! {"expires_at": {"$lt": c.expired_before}}),
            ("refresh_spent", doc! {"at": {"$lt": marks}}),
            ("revoked_families", doc! {"at": {"$lt": marks}}),
            ("login_failures", doc! {"at": {"$lt": c.failures_before}}),
        ];
        let mut n = 0;
        for (coll, filter) in deletes {
            n += self.coll(coll).delete_many(filter).await.map_err(unavailable)?.deleted_count;
        }
        Ok(n)
    }

    async fn token_secret(&self, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        self.secret_once("token", candidate).await
    }
}

impl MongoStore {
    /// A secret made once per database under `name`: the first writer's candidate wins.
    /// Sealed at rest (`sealing.rs`); a value stored plain or under the previous sealing secret is
    /// sealed again under the current one when read (every writer writes the same plaintext).
    pub(super) async fn secret_once(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StoreError> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let aad = format!("server_secret:{name}");
        let value = self.seal(&aad, &b64.encode(candidate))?;
        self.insert_once("server_secrets", doc! {"_id": name, "value": value}).await?;
        let d = self
            .find_by_id("server_secrets", name)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("secret {name} vanished")))?;
        let opened = self.open(&aad, d.get_str("value").map_err(|e| StoreError::Corrupt(e.to_string()))?)?;
        if opened.stale && self.sealer.is_some() {
            let resealed = self.seal(&aad, &opened.value)?;
            self.coll("server_secrets")
                .replace_one(doc! {"_id": name}, doc! {"_id": name, "value": resealed})
                .await
                .map_err(unavailable)?;
        }
        b64.decode(opened.value).map_err(|e| StoreError::Corrupt(e.to_string()))
    }
}

/// A collection, the field holding a sealed secret, and the secret's associated data from the
/// document.
type SealedField = (&'static str, &'static str, fn(&Document) -> String);

impl MongoStore {
    /// Seals every secret still stored plain, or under the previous sealing secret, under the
    /// current one: run at start-up (the collections involved hold one document per staff member,
    /// device or server secret). Returns how many values were sealed again.
    pub async fn reseal_secrets(&self) -> Result<usize, StoreError> {
        if self.sealer.is_none() {
            return Ok(0);
        }
        let mut n = 0;
        let fields: [SealedField; 4] = [
            ("server_secrets", "value", |d| {
                format!("server_secret:{}", d.get_str("_id").unwrap_or_default())
            }),
            ("devices", "kek", |d| format!("device_kek:{}", d.get_str("_id").unwrap_or_default())),
            ("users", "totp_secret", |d| {
                totp_aad(d.get_str("_id").unwrap_or_default().parse().unwrap_or_default())
            }),
            ("user_facts", "secret", |d| {
                let user = d
                    .get_str("_id")
                    .unwrap_or_default()
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                totp_aad(user.parse().unwrap_or_default())
            }),
        ];
        for (coll, field, aad_of) in fields {
            for d in self.find_all(coll, doc! {}).await? {
                let Ok(stored) = d.get_str(field) else { continue };
                let aad = aad_of(&d);
                let opened = self.open(&aad, stored)?;
                if opened.stale {
                    let sealed = self.seal(&aad, &opened.value)?;
                    self.coll(coll)
                        .update_one(
                            doc! {"_id": d.get("_id").cloned().unwrap_or_default()},
                            doc! {"$set": {field: sealed}},
                        )
                        .await
                        .map_err(unavailable)?;
                    n += 1;
                }
            }
        }
        Ok(n)
    }
}
