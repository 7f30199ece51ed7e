-- Migration 0010: the output throughput each energy_per_token row was measured at. The
-- rows of one (model, hardware, units) then give the instance's power against its load
-- (joules per token x tokens per second), which serving mode meters an LLM instance by
-- and plans with (compiler/fleet/workload.py). NULL: the throughput is not known, and
-- the row does not enter a power curve.
ALTER TABLE energy_per_token ADD COLUMN output_tps DOUBLE;
-- The seed's rows in catalogs seeded before this migration (as catalog/seed/energy_per_token.csv).
UPDATE energy_per_token SET output_tps = CASE max_num_seqs
        WHEN 8 THEN 470 WHEN 64 THEN 2511 WHEN 256 THEN 4915 WHEN 1024 THEN 6827 END
 WHERE model = 'Llama-3.1-70B' AND hardware = 'H100-80GB' AND units = 4
   AND source LIKE 'published:https://github.com/ml-energy/leaderboard/%';
UPDATE energy_per_token SET output_tps = CASE max_num_seqs
        WHEN 8 THEN 1070 WHEN 64 THEN 5147 WHEN 256 THEN 9010 WHEN 512 THEN 9806 END
 WHERE model = 'Llama-3.1-8B' AND hardware = 'H100-80GB' AND units = 1
   AND source LIKE 'published:https://github.com/ml-energy/leaderboard/%';
