//! `image_vuln_counts` (migration 0006): open, fixable and suppressed findings per image
//! and severity, kept in step with `findings` by [`super::Write::commit`], which
//! recounts every image whose findings the transaction changed.

use super::query::{push_list, IDS_PER_LIST};
use super::{StoreResult, Write};
use crate::db::Backend;

const COUNT: &str =
    "INSERT INTO image_vuln_counts (image_id, severity_rank, open, fixable, suppressed) \
     SELECT image_id, severity_rank, SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END), \
       SUM(CASE WHEN state = 'open' AND fixed_version IS NOT NULL THEN 1 ELSE 0 END), \
       SUM(CASE WHEN state = 'suppressed' THEN 1 ELSE 0 END) \
     FROM findings WHERE state IN ('open', 'suppressed') AND image_id IN ";

impl Write {
    /// Recounts the given images from their findings. On Postgres the images' rows are
    /// locked first, in id order: two writers recounting one image take turns, and the
    /// second counts what the first committed instead of failing on the rows it inserted.
    pub(super) async fn recount_images(
        &mut self,
        images: impl IntoIterator<Item = i64>,
    ) -> StoreResult<()> {
        let mut ids: Vec<i64> = images.into_iter().collect();
        ids.sort_unstable();
        ids.dedup();
        let lock_rows = self.tx.backend() == Backend::Postgres;
        for chunk in ids.chunks(IDS_PER_LIST) {
            crate::with_tx!(&mut self.tx, |t| {
                if lock_rows {
                    let mut lock = sqlx::QueryBuilder::new("SELECT id FROM images WHERE id IN ");
                    push_list(&mut lock, chunk);
                    lock.push(" ORDER BY id FOR UPDATE");
                    lock.build().execute(&mut **t).await?;
                }
                let mut clear =
                    sqlx::QueryBuilder::new("DELETE FROM image_vuln_counts WHERE image_id IN ");
                push_list(&mut clear, chunk);
                clear.build().execute(&mut **t).await?;
                let mut count = sqlx::QueryBuilder::new(COUNT);
                push_list(&mut count, chunk);
                count.push(" GROUP BY image_id, severity_rank");
                count.build().execute(&mut **t).await?;
                Ok::<_, sqlx::Error>(())
            })?;
        }
        Ok(())
    }
}
