-- Migration 0006: the environment variable that holds an agent's API key (an LLM
-- endpoint's), by name: '' when the agent needs none. The catalog stores the name
-- only; the key is read from the environment at each request and never written here
-- (the importer refuses a value that is not a variable name).
ALTER TABLE agents ADD COLUMN api_key_env TEXT DEFAULT '';
