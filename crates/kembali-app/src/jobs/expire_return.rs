//! Expires an approved return nobody shipped by its ship-by day. If it moved on
//! meanwhile (shipped, cancelled), there is nothing to do.

use kembali_core::ReturnId;
use kembali_core::returns::{Actor, Command};
use serde::{Deserialize, Serialize};

use super::{Job, JobContext, JobError};
use crate::{AppError, returns};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ExpireReturn {
    pub return_id: ReturnId,
}

impl Job for ExpireReturn {
    const KIND: &'static str = "return.expire";

    async fn run(self, ctx: JobContext) -> Result<(), JobError> {
        let shop = ctx
            .shop
            .ok_or_else(|| JobError::GiveUp("an expiry job needs its shop".into()))?;
        let app = &ctx.app;
        let mut tx = app.db.begin().await?;
        match returns::transition(
            app,
            &mut tx,
            shop,
            self.return_id,
            None,
            &Command::Expire,
            &Actor::System,
        )
        .await
        {
            Ok(_) => {
                tx.commit().await?;
                Ok(())
            }
            Err(AppError::Transition(_) | AppError::NotFound(_)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
