insert into quota_movements (holder, year, kind, delta_mu, balance_after_mu, consumed_mu, case_id,
                             transfer_id, actor_id, reason, at)
values ($1, $2, $3, $4::bigint::numeric / 100, $5::bigint::numeric / 100, $6::bigint::numeric / 100, $7,
        $8, $9, $10, $11)
