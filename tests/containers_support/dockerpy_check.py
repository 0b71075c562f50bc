# docker-py 7 against berth's dockerd: the calls a typical script makes. Exits non-zero with the
# failed assertion on stderr.
import sys
import docker

c = docker.DockerClient(base_url=sys.argv[1])
assert c.ping()
out = c.containers.run("bb:latest", ["sh", "-c", "echo hello; echo err >&2"], remove=True, stderr=True)
assert out == b"hello\nerr\n", out
ct = c.containers.run("bb:latest", ["sleep", "30"], detach=True, name="py1", labels={"a": "b"}, environment={"X": "1"})
ct.reload()
assert ct.status == "running" and ct.name == "py1" and ct.labels == {"a": "b"}, ct.attrs
assert "X=1" in ct.attrs["Config"]["Env"]
r = ct.exec_run(["sh", "-c", "echo $X; exit 3"])
assert (r.exit_code, r.output) == (3, b"1\n"), r
assert [x.name for x in c.containers.list()] == ["py1"]
assert c.containers.list(filters={"label": "a=b"})[0].id == ct.id
assert "PID" in ct.top()["Titles"]
s = ct.stats(stream=False)
assert s["memory_stats"].get("usage") is not None, s
ct.pause(); ct.reload(); assert ct.status == "paused"
ct.unpause(); ct.reload(); assert ct.status == "running"
ct.kill(); assert ct.wait()["StatusCode"] == 137
ct.reload(); assert ct.attrs["State"]["ExitCode"] == 137
ct.remove()
try:
    c.containers.get("py1")
    raise AssertionError("py1 still exists")
except docker.errors.NotFound:
    pass
try:
    c.containers.run("bb:latest", ["nosuch"], remove=True)
    raise AssertionError("nosuch ran")
except docker.errors.APIError as e:
    assert "executable file not found" in str(e), e
print("ok")
