id, holder, year, kind,
       (delta_mu * 100)::bigint as delta_hundredths,
       (balance_after_mu * 100)::bigint as balance_after_hundredths,
       (consumed_mu * 100)::bigint as consumed_hundredths,
       case_id, transfer_id, actor_id, reason, at
