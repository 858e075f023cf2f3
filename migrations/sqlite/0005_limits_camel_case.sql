-- Limit rules are stored as JSON in the shape of the admin API, which is now camelCase:
-- key_id → keyId, requests_per_minute → requestsPerMinute, … (values and rule order unchanged).
UPDATE `project_limits` SET `rules` = (
  SELECT coalesce(json_group_array(json((
    SELECT json_group_object(
      CASE f.key
        WHEN 'key_id' THEN 'keyId'
        WHEN 'requests_per_minute' THEN 'requestsPerMinute'
        WHEN 'tokens_per_minute' THEN 'tokensPerMinute'
        WHEN 'tokens_per_day' THEN 'tokensPerDay'
        WHEN 'tokens_per_month' THEN 'tokensPerMonth'
        WHEN 'max_concurrent' THEN 'maxConcurrent'
        ELSE f.key
      END,
      f.value)
    FROM json_each(r.value) AS f
  ))), '[]')
  FROM json_each(`project_limits`.`rules`) AS r
)
WHERE json_valid(`rules`) AND json_type(`rules`) = 'array';
