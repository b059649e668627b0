//! Virtual MFA devices: creation (seed and QR code), enabling with two
//! consecutive codes, resynchronisation, deactivation.
use super::{keyset_page, page_ask, short_list_page, Ctx, Output};
use crate::crypto::Totp;
use crate::domain::{EntityKind, MfaDevice, NameRule, Principal};
use crate::iam::IamError;
use crate::query::{text, Member, Node};
use crate::store::StoreError;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

/// How far a resync may reach, in steps either way (±10 minutes).
const RESYNC_WINDOW: i64 = 20;

fn seed_context(serial: &str) -> String {
    format!("mfa-seed:{serial}")
}

fn totp_for(c: &Ctx<'_>, d: &MfaDevice) -> Result<Totp, IamError> {
    let seed = c
        .svc
        .master
        .open(&d.sealed_seed, &seed_context(&d.serial))
        .map_err(|e| IamError::Internal(format!("MFA seed of {} does not open: {e}", d.serial)))?;
    Totp::new(seed, "idbroker", &d.serial).map_err(|e| IamError::Internal(e.to_string()))
}

pub async fn create(c: &Ctx<'_>) -> Output {
    let name = c.name("VirtualMFADeviceName", NameRule::MFA)?;
    let path = c.path("Path")?;
    let serial = c.arn("mfa", &path, name);
    let tags = super::tags::request_tags(c.p)?;
    c.allow_with("iam:CreateVirtualMFADevice", &serial, |ctx| super::tags::tag_context(ctx, &tags)).await?;
    let seed = Totp::generate_seed();
    let totp = Totp::new(seed.clone(), "idbroker", &format!("{name}@{}", c.account()))
        .map_err(|e| IamError::Internal(e.to_string()))?;
    let png = totp.qr_png().map_err(|e| IamError::Internal(e.to_string()))?;
    let device = MfaDevice {
        serial: serial.clone(),
        account_id: c.account().to_owned(),
        path,
        sealed_seed: c.svc.master.seal(&seed, &seed_context(&serial)),
        user_id: None,
        root_user: false,
        enabled_at: None,
        created_at: c.svc.now(),
        last_step: None,
    };
    match c.svc.store.insert_mfa_device(&device).await {
        Err(StoreError::Conflict(_)) => {
            return Err(IamError::EntityAlreadyExists(
                "MFADevice entity at the same path and name already exists.".into(),
            ))
        }
        r => r?,
    }
    if !tags.is_empty() {
        c.svc.store.put_tags(&serial, &tags).await?;
    }
    // Blob members travel base64-encoded; botocore decodes them to bytes.
    let mut fields = vec![
        text("SerialNumber", &serial),
        text("Base32StringSeed", B64.encode(totp.seed_base32())),
        text("QRCodePNG", B64.encode(png)),
    ];
    if !tags.is_empty() {
        fields.push(super::nodes::tag_list(&tags));
    }
    Ok(Some(vec![Node::Struct("VirtualMFADevice", fields)]))
}

/// The device named by `SerialNumber` in the caller's account.
async fn device(c: &Ctx<'_>) -> Result<MfaDevice, IamError> {
    let serial = c.p.required_string("SerialNumber", 9, 256)?;
    match c.svc.store.get_mfa_device(serial).await {
        Ok(d) if d.account_id == c.account() => Ok(d),
        Ok(_) | Err(StoreError::NotFound(_)) => {
            Err(IamError::NoSuchEntity(format!("MFA Device with serial number {serial} does not exist.")))
        }
        Err(e) => Err(e.into()),
    }
}

/// The user named by `UserName`, or the root user when the root caller names none.
async fn device_owner(c: &Ctx<'_>, action: &str) -> Result<Option<Principal>, IamError> {
    match c.p.get("UserName") {
        Some(name) => {
            crate::domain::validate_name(NameRule::USER, name)?;
            Ok(Some(c.authorized_entity(EntityKind::User, name, action).await?))
        }
        None if c.svc.caller_user(c.caller).await?.is_none() => {
            c.allow(action, &c.caller.arn).await?;
            Ok(None)
        }
        None => Err(IamError::Validation(
            "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"
                .into(),
        )),
    }
}

/// Finds the step `s` with code1 at `s` and code2 at `s + 1`, `s + 1` within `window` of now.
fn consecutive_codes(c: &Ctx<'_>, totp: &Totp, window: i64) -> Result<i64, IamError> {
    let code1 = c.p.required("AuthenticationCode1")?;
    let code2 = c.p.required("AuthenticationCode2")?;
    let now_step = Totp::step_of(c.svc.now());
    let invalid =
        || IamError::InvalidAuthenticationCode("Authentication code for device is not valid.".into());
    let second = totp.matching_step(code2, now_step, window).ok_or_else(invalid)?;
    if totp.matching_step(code1, second - 1, 0).is_none() {
        return Err(invalid());
    }
    Ok(second)
}

pub async fn enable(c: &Ctx<'_>) -> Output {
    let owner = device_owner(c, "iam:EnableMFADevice").await?;
    let d = device(c).await?;
    if d.enabled_at.is_some() {
        return Err(IamError::EntityAlreadyExists("MFA Device is already in use.".into()));
    }
    let step = consecutive_codes(c, &totp_for(c, &d)?, 1)?;
    match c
        .svc
        .store
        .enable_mfa_device(&d.serial, owner.as_ref().map(|u| u.id.as_str()), c.svc.now(), step)
        .await
    {
        Err(StoreError::Conflict(_)) => {
            Err(IamError::EntityAlreadyExists("MFA Device is already in use.".into()))
        }
        r => Ok(r.map(|_| None)?),
    }
}

fn assigned_to(d: &MfaDevice, owner: Option<&Principal>) -> bool {
    match owner {
        Some(u) => d.user_id.as_deref() == Some(u.id.as_str()),
        None => d.root_user,
    }
}

pub async fn deactivate(c: &Ctx<'_>) -> Output {
    let owner = device_owner(c, "iam:DeactivateMFADevice").await?;
    let d = device(c).await?;
    if !assigned_to(&d, owner.as_ref()) {
        return Err(IamError::NoSuchEntity(format!(
            "MFA Device with serial number {} is not enabled for that user.",
            d.serial
        )));
    }
    c.svc.store.deactivate_mfa_device(&d.serial).await?;
    Ok(None)
}

pub async fn resync(c: &Ctx<'_>) -> Output {
    let owner = device_owner(c, "iam:ResyncMFADevice").await?;
    let d = device(c).await?;
    if !assigned_to(&d, owner.as_ref()) {
        return Err(IamError::NoSuchEntity(format!(
            "MFA Device with serial number {} is not enabled for that user.",
            d.serial
        )));
    }
    let step = consecutive_codes(c, &totp_for(c, &d)?, RESYNC_WINDOW)?;
    c.svc.store.advance_mfa_step(&d.serial, step).await?;
    Ok(None)
}

pub async fn delete(c: &Ctx<'_>) -> Output {
    let serial = c.p.required_string("SerialNumber", 9, 256)?.to_owned();
    c.allow("iam:DeleteVirtualMFADevice", &serial).await?;
    let d = device(c).await?;
    match c.svc.store.delete_mfa_device(&d.serial).await {
        Err(StoreError::Conflict(_)) => {
            Err(IamError::DeleteConflict("MFA device is enabled; deactivate it before deleting it.".into()))
        }
        r => Ok(r.map(|_| None)?),
    }
}

async fn device_fields(c: &Ctx<'_>, d: &MfaDevice, with_user: bool) -> Result<Vec<Node>, IamError> {
    let mut v = vec![text("SerialNumber", &d.serial)];
    if with_user {
        if let Some(uid) = &d.user_id {
            let u = c.svc.store.get_principal_by_id(uid).await?;
            v.push(Node::Struct("User", super::nodes::principal_fields(&u, None)));
        } else if d.root_user {
            v.push(Node::Struct(
                "User",
                vec![
                    text("UserId", c.account()),
                    text("Arn", crate::domain::Arn::root(c.account())),
                    text("CreateDate", super::nodes::date(d.created_at)),
                ],
            ));
        }
    }
    v.extend(d.enabled_at.map(|t| text("EnableDate", super::nodes::date(t))));
    Ok(v)
}

pub async fn list_virtual(c: &Ctx<'_>) -> Output {
    c.allow("iam:ListVirtualMFADevices", "*").await?;
    let status = c.p.get("AssignmentStatus").unwrap_or("Any");
    let assigned = match status {
        "Assigned" => Some(true),
        "Unassigned" => Some(false),
        "Any" => None,
        other => {
            return Err(IamError::Validation(format!(
                "1 validation error detected: Value '{other}' at 'assignmentStatus' failed to satisfy constraint: \
                 Member must satisfy enum value set: [Assigned, Unassigned, Any]"
            )))
        }
    };
    let page = page_ask(c, "VirtualMFADevices")?;
    let (after, limit) = page.single();
    let devices = c.svc.store.page_of_mfa_devices(c.account(), assigned, after.as_deref(), limit).await?;
    let mut members = Vec::new();
    for d in devices {
        members.push((device_fields(c, &d, true).await?, d.serial));
    }
    keyset_page(
        c,
        "VirtualMFADevices",
        page,
        members,
        |(_, serial)| serial.clone(),
        |(f, _)| Member::Struct(f.clone()),
    )
}

pub async fn list_for_user(c: &Ctx<'_>) -> Output {
    let owner = match c.p.get("UserName") {
        None => {
            let user = c.svc.caller_user(c.caller).await?;
            let arn = user.as_ref().map_or(c.caller.arn.clone(), |u| u.arn.clone());
            c.allow("iam:ListMFADevices", &arn).await?;
            user
        }
        Some(_) => device_owner(c, "iam:ListMFADevices").await?,
    };
    let devices = c.svc.store.enabled_mfa_devices(c.account(), owner.as_ref().map(|u| u.id.as_str())).await?;
    let user_name = owner.as_ref().map(|u| u.name.clone()).unwrap_or_else(|| c.account().to_string());
    short_list_page(
        c,
        "MFADevices",
        devices,
        |d| d.serial.clone(),
        |d| {
            Member::Struct(vec![
                text("UserName", &user_name),
                text("SerialNumber", &d.serial),
                text("EnableDate", super::nodes::date(d.enabled_at.unwrap_or_default())),
            ])
        },
    )
}

impl crate::iam::IamService {
    /// Checks a code from the MFA device `serial`, which must be enabled for
    /// `user_id` (`None`: the root user) in `account`. The current step ±1 is
    /// accepted, and each step only once, on every node.
    pub(crate) async fn check_mfa_code(
        &self,
        account: &str,
        user_id: Option<&str>,
        serial: &str,
        code: &str,
    ) -> Result<bool, IamError> {
        let device = match self.store.get_mfa_device(serial).await {
            Ok(d) => d,
            Err(StoreError::NotFound(_)) => return Ok(false),
            Err(e) => return Err(e.into()),
        };
        let assigned = match user_id {
            Some(u) => device.user_id.as_deref() == Some(u),
            None => device.root_user,
        };
        if device.account_id != account || device.enabled_at.is_none() || !assigned {
            return Ok(false);
        }
        let seed = self
            .master
            .open(&device.sealed_seed, &seed_context(&device.serial))
            .map_err(|e| IamError::Internal(format!("MFA seed of {} does not open: {e}", device.serial)))?;
        let totp =
            Totp::new(seed, "idbroker", &device.serial).map_err(|e| IamError::Internal(e.to_string()))?;
        let Some(step) = totp.matching_step(code, Totp::step_of(self.now()), 1) else {
            return Ok(false);
        };
        Ok(self.store.advance_mfa_step(&device.serial, step).await?)
    }
}
