-- coffre.lua - the load of one benchmark scenario for wrk, chosen by the
-- environment (BENCH_MODE: read | write | lookup | mixed | denied):
--   read    GET one random existing record, with its purpose
--   write   POST a record for a new subject
--   lookup  POST a subject lookup by an existing national identifier
--   mixed   a case worker's day: 80 % reads, 15 % lookups, 5 % writes
--   denied  GET one record for an undeclared purpose (refused, audited)
-- BENCH_TOKEN, BENCH_ORG, BENCH_COLLECTION, BENCH_IDS (a file of record
-- ids, one per line) and BENCH_SUBJECTS (subjects 0..N-1 exist) describe
-- the data set; bench_nid() is bench/bench_gen.c's formula.
-- New subjects for writes are numbered from 30,000,000 (bench_nid of
-- them differs from every generated subject's, all below 29,000,000) in
-- seven regions of 497,000: BENCH_REGION (0..6) names the run's, so that
-- the harness gives each scenario its own and no run writes for a subject
-- another one made (a random region when unset). Thread t of
-- BENCH_WRK_THREADS (wrk's -t, 2 when unset) takes the region's numbers t,
-- t + T, t + 2T, ...: the threads never meet, however many writes each
-- makes.

local mode = os.getenv("BENCH_MODE") or "read"
local token = os.getenv("BENCH_TOKEN")
local org = os.getenv("BENCH_ORG") or "cpas"
local coll = os.getenv("BENCH_COLLECTION") or "social_aid"
local subjects = tonumber(os.getenv("BENCH_SUBJECTS") or "1")
local stride = tonumber(os.getenv("BENCH_WRK_THREADS") or "2")
local ids = {}
local next_subject = 0

local function bench_nid(i)
  local seq = 1 + i % 997
  local r = math.floor(i / 997)
  local dd = 1 + r % 28
  local mm = 1 + math.floor(r / 28) % 12
  local yy = math.floor(r / (28 * 12)) % 100
  local first9 = ((yy * 100 + mm) * 100 + dd) * 1000 + seq
  return string.format("%09d%02d", first9, 97 - first9 % 97)
end

local records_path = "/v1/orgs/" .. org .. "/collections/" .. coll .. "/records"
local lookup_path = "/v1/orgs/" .. org .. "/subjects/lookup"

local function headers(purpose, body)
  local h = {["Authorization"] = "Bearer " .. token, ["X-Purpose"] = purpose}
  if body then h["Content-Type"] = "application/json" end
  return h
end

-- setup runs in wrk's main state, once per thread in order: it numbers them and draws the region
math.randomseed(os.time())
local threads_set = 0
local run_region = tonumber(os.getenv("BENCH_REGION") or tostring(math.random(0, 6)))
assert(run_region >= 0 and run_region <= 6, "BENCH_REGION is 0 to 6")

-- tid and region become globals of each thread's own state (not locals: a local would shadow them)
function setup(thread)
  assert(threads_set < stride, "more wrk threads than BENCH_WRK_THREADS")
  thread:set("tid", tostring(threads_set))
  thread:set("region", tostring(run_region))
  threads_set = threads_set + 1
end

function init(args)
  local t = tonumber(tid or "0")
  math.randomseed(os.time() + t)
  local f = assert(io.open(os.getenv("BENCH_IDS"), "r"))
  for line in f:lines() do ids[#ids + 1] = line end
  f:close()
  -- write() steps before it writes: the thread's first number is the region's start + t
  next_subject = 30000000 + tonumber(region or "0") * 497000 + t - stride
end

local function read(purpose)
  local id = ids[math.random(1, #ids)]
  return wrk.format("GET", records_path .. "/" .. id, headers(purpose))
end

local function write()
  next_subject = next_subject + stride
  local body = '{"subject":{"national_id":"' .. bench_nid(next_subject) .. '"},"fields":{"first_name":"Bench",' ..
               '"last_name":"Writer","birth_date":"1980-05-17","aid_kind":"ris","aid_amount":1250,' ..
               '"notes":"written by the benchmark"}}'
  return wrk.format("POST", records_path, headers("social-aid", true), body)
end

local function lookup()
  local body = '{"national_id":"' .. bench_nid(math.random(0, subjects - 1)) .. '"}'
  return wrk.format("POST", lookup_path, headers("social-aid", true), body)
end

function request()
  if mode == "read" then return read("social-aid") end
  if mode == "write" then return write() end
  if mode == "lookup" then return lookup() end
  if mode == "denied" then return read("marketing") end
  local x = math.random(1, 100)
  if x <= 80 then return read("social-aid") end
  if x <= 95 then return lookup() end
  return write()
end
