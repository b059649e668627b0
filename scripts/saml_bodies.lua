-- wrk: POSTs the AssumeRoleWithSAML form bodies of a file (one per line,
-- from examples/saml_responses), each thread every other one, so that no
-- response is sent twice while the file lasts.
-- Usage: wrk ... -s scripts/saml_bodies.lua URL -- BODIES_FILE
local threads = 0
function setup(thread) thread:set("tid", threads); threads = threads + 1 end
function init(args)
  bodies = {}
  for line in io.lines(args[1]) do bodies[#bodies + 1] = line end
  i = tid + 1
end
function request()
  local body = bodies[i]
  i = i + 2
  if i > #bodies then i = tid + 1 end
  return wrk.format("POST", "/", {["Content-Type"] = "application/x-www-form-urlencoded"}, body)
end
