//! `anola wallet …`: thin calls into `Clinic`'s money methods (amounts typed as decimals in the
//! bill's or wallet's currency, parsed by the ledger's strict parser).

use crate::args::WalletCommand;
use crate::commands::write_file;
use crate::output::Out;
use anola_client::clinic_money::{AllowancePolicy, OfflineBill};
use anola_client::{ClientError, Clinic};
use anola_protocol::money::{ChargeRequest, Currency, DepositMethod, Desk, Line, ReasonCode};
use uuid::Uuid;

fn bad(field: &str, message: impl Into<String>) -> ClientError {
    let message = message.into();
    ClientError::ValidationFailed {
        message: format!("{field}: {message}"),
        errors: vec![anola_protocol::FieldError {
            field: field.into(),
            code: "invalid_value".into(),
            message,
            mutation_index: None,
        }],
    }
}

fn amount(field: &str, text: &str, c: Currency) -> Result<u64, ClientError> {
    anola_protocol::money::parse_amount(text, c).map_err(|e| bad(field, e.to_string()))
}

fn currency(code: &str) -> Result<Currency, ClientError> {
    serde_json::from_value(serde_json::Value::String(code.to_uppercase()))
        .map_err(|_| bad("currency", format!("{code} is not a supported currency")))
}

/// `CODE` or `CODE:QUANTITY`, priced from the device's list.
fn lines(clinic: &Clinic, items: &[String]) -> Result<(Vec<Line>, Currency), ClientError> {
    let prices = clinic.prices()?;
    let mut out = Vec::new();
    let mut cur = None;
    for (i, it) in items.iter().enumerate() {
        let (code, qty) = match it.split_once(':') {
            Some((c, q)) => (
                c,
                q.parse::<u32>()
                    .map_err(|_| bad(&format!("item[{i}]"), "CODE:QUANTITY, a whole quantity"))?,
            ),
            None => (it.as_str(), 1),
        };
        let p = prices.items.iter().find(|p| p.code == code).ok_or_else(|| {
            bad(
                &format!("item[{i}]"),
                format!("{code} is not on this device's price list (anola wallet prices --refresh)"),
            )
        })?;
        cur = Some(p.currency);
        out.push(Line {
            item: code.into(),
            quantity: qty,
            unit_price: p.price,
        });
    }
    Ok((out, cur.unwrap_or(Currency::KES)))
}

pub fn run(command: &WalletCommand, rt: &tokio::runtime::Runtime, clinic: &Clinic, out: &Out) -> Result<(), ClientError> {
    match command {
        WalletCommand::Prices { refresh } => {
            if *refresh {
                rt.block_on(clinic.refresh_prices())?;
            }
            out.value(&clinic.prices()?)
        }
        WalletCommand::Show { patient } => {
            let online = rt.block_on(clinic.patient_wallets(patient));
            let local = clinic.offline_money(patient)?;
            match online {
                Ok(w) => out.value(&serde_json::json!({"online": true, "wallets": w, "on_this_device": local})),
                Err(ClientError::Offline { .. }) => out.value(&serde_json::json!({"online": false, "on_this_device": local})),
                Err(e) => return Err(e),
            }
        }
        WalletCommand::Open { patient, currency: c } => {
            rt.block_on(clinic.open_wallet(patient, currency(c)?))?;
            out.value(&serde_json::json!({"opened": format!("PW-{patient}")}))
        }
        WalletCommand::Pin { patient, pin } => {
            rt.block_on(clinic.set_wallet_pin(patient, pin))?;
            out.value(&serde_json::json!({"pin_set": true}))
        }
        WalletCommand::Deposit {
            patient,
            amount: a,
            mobile_money,
        } => {
            let w = rt.block_on(clinic.patient_wallets(patient))?;
            let c = w
                .wallets
                .iter()
                .find(|x| x.id == format!("PW-{patient}"))
                .map(|x| x.currency)
                .ok_or_else(|| bad("patient", "this patient has no personal wallet (anola wallet open)"))?;
            let method = match mobile_money {
                Some(reference) => DepositMethod::MobileMoney {
                    reference: reference.clone(),
                },
                None => DepositMethod::Cash,
            };
            out.value(&rt.block_on(clinic.deposit(patient, amount("amount", a, c)?, method))?)
        }
        WalletCommand::Quote {
            patient,
            items,
            personal,
            context,
        } => {
            let (l, _) = lines(clinic, items)?;
            out.value(&rt.block_on(clinic.quote(patient, l, *personal, context.context()))?)
        }
        WalletCommand::Charge {
            patient,
            items,
            pin,
            cash,
            owed,
            offline,
            png,
            context,
        } => {
            let (l, c) = lines(clinic, items)?;
            let charged = if *offline {
                let cash = cash.as_deref().map(|t| amount("cash", t, c)).transpose()?.unwrap_or(0);
                clinic.charge_offline(OfflineBill {
                    id: Uuid::now_v7(),
                    patient: patient.clone(),
                    lines: l,
                    cash,
                    pin: pin.clone(),
                    provider: context.provider.clone(),
                    diagnoses: context.diagnoses.clone(),
                })?
            } else {
                let q = rt.block_on(clinic.quote(patient, l.clone(), pin.is_some(), context.context()))?;
                rt.block_on(clinic.charge(ChargeRequest {
                    id: Uuid::now_v7(),
                    patient: patient.clone(),
                    lines: l,
                    desk: if *owed { Desk::Owed } else { Desk::Cash { drawer: String::new() } },
                    desk_amount: q.desk_amount,
                    pin: pin.clone(),
                    visit: None,
                    offline: None,
                    provider: context.provider.clone(),
                    diagnoses: context.diagnoses.clone(),
                    pre_approval: context.pre_approval,
                }))?
            };
            if let Some(path) = png {
                let svg = rt.block_on(clinic.receipt_svg(charged.receipt.id))?;
                write_file(path, &anola_client::card_print::card_png(&svg, 203.0)?)?;
            }
            out.value(&charged)
        }
        WalletCommand::Refund { charge, reason } => {
            let reason: ReasonCode = serde_json::from_value(serde_json::Value::String(reason.clone())).map_err(|_| {
                bad(
                    "reason",
                    "one of duplicate_charge, wrong_amount, service_not_given, patient_request, entered_in_error, funds_returned",
                )
            })?;
            out.value(&rt.block_on(clinic.refund(*charge, reason))?)
        }
        WalletCommand::Receipt { charge, svg, png } => {
            let doc = rt.block_on(clinic.receipt_svg(*charge))?;
            if let Some(path) = svg {
                write_file(path, doc.as_bytes())?;
            }
            if let Some(path) = png {
                write_file(path, &anola_client::card_print::card_png(&doc, 203.0)?)?;
            }
            out.value(&rt.block_on(clinic.receipt(*charge))?)
        }
        WalletCommand::Reserve {
            patients,
            total,
            per_charge,
            count,
            hours,
            pin,
        } => {
            let c = clinic.prices()?.items.first().map(|p| p.currency).unwrap_or(Currency::KES);
            let policy = AllowancePolicy {
                total: amount("total", total, c)?,
                per_charge: amount("per_charge", per_charge, c)?,
                max_count: *count,
                ttl_ms: i64::from(*hours) * 3_600_000,
            };
            let n = match (pin, patients.as_slice()) {
                (Some(pin), [one]) => rt.block_on(clinic.reserve_personal_allowance(one, pin, policy))?,
                (Some(_), _) => return Err(bad("pin", "a PIN reserves one patient's personal wallet: give one --patient")),
                (None, _) => rt.block_on(clinic.reserve_allowances(patients, policy))?,
            };
            out.value(&serde_json::json!({"reserved": n}))
        }
        WalletCommand::Sponsorships { patient } => match rt.block_on(clinic.sponsorships(patient)) {
            Ok(v) => out.value(&v),
            // With no network, what this device holds: the terms kept with its allowances.
            Err(ClientError::Offline { .. }) => {
                let terms: Vec<_> = clinic
                    .offline_money(patient)?
                    .allowances
                    .into_iter()
                    .filter_map(|a| {
                        a.terms
                            .map(|t| serde_json::json!({"terms": t, "this_device_may_charge": a.reserved.saturating_sub(a.spent)}))
                    })
                    .collect();
                out.value(&serde_json::json!({"offline": true, "sponsorships": terms}))
            }
            Err(e) => return Err(e),
        },
        WalletCommand::Covered { patient, items, context } => {
            let (l, _) = lines(clinic, items)?;
            out.value(&clinic.coverage_offline(patient, &l, context.provider.clone(), context.diagnoses.clone())?)
        }
        WalletCommand::PreApprove {
            sponsorship,
            patient,
            items,
            provider,
            diagnoses,
            note,
            valid_days,
        } => {
            let (l, _) = lines(clinic, items)?;
            let req = anola_protocol::sponsor::NewPreApproval {
                id: Uuid::now_v7(),
                sponsorship: *sponsorship,
                patient: patient.clone(),
                provider: provider.clone(),
                lines: l,
                diagnoses: diagnoses.clone(),
                note: note.clone(),
                valid_days: *valid_days,
            };
            out.value(&rt.block_on(clinic.ask_pre_approval(req))?)
        }
        WalletCommand::Story { sponsorship, text } => {
            out.value(&serde_json::json!({"story": rt.block_on(clinic.add_story(*sponsorship, text))?}))
        }
        WalletCommand::PreApproval { id, patient } => match (id, patient) {
            (Some(id), _) => out.value(&rt.block_on(clinic.pre_approval(*id))?),
            (None, Some(p)) => out.value(&clinic.pre_approvals_for(p)?),
            (None, None) => return Err(bad("id", "give a pre-approval id, or --patient to list theirs")),
        },
        WalletCommand::Return { all } => out.value(&serde_json::json!({"returned": rt.block_on(clinic.return_allowances(*all))?})),
        WalletCommand::Settle => out.value(&rt.block_on(clinic.settle_offline_charges())?),
        WalletCommand::Drawer => out.value(&rt.block_on(clinic.drawer())?),
        WalletCommand::Close { counted, note } => {
            let d = rt.block_on(clinic.drawer())?;
            let c = d.currency.unwrap_or(Currency::KES);
            out.value(&rt.block_on(clinic.close_day(amount("counted", counted, c)?, note))?)
        }
    }
    Ok(())
}
