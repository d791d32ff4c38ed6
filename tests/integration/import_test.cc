// `superd import` end to end: the deployment's own kind of unit (gunicorn + uvicorn
// workers, User=, WorkingDirectory=, Environment=) is translated, the result passes
// `superd --check`, and superd runs it and it serves.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <filesystem>

#include "tests/integration/harness.h"

namespace superd::test {
namespace {

TEST(Import, DeploymentUnitImportsChecksRunsAndServes) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to create the service user";
  TestUser user("sdt-imp" + std::to_string(::getpid() % 100000));
  TempDir dir;
  const int port = free_port();
  // The project: an ASGI app that says who serves it.
  const std::string project = dir / "django";
  std::filesystem::create_directories(project + "/server");
  write_file(project + "/server/__init__.py", "");
  write_file(project + "/server/asgi.py",
             "import os\n"
             "async def application(scope, receive, send):\n"
             "    if scope['type'] != 'http':\n"
             "        return\n"
             "    body = ('uid=%d settings=%s' % (os.getuid(), os.environ.get('DJANGO_SETTINGS_MODULE'))).encode()\n"
             "    await send({'type': 'http.response.start', 'status': 200, 'headers': [(b'content-type', b'text/plain')]})\n"
             "    await send({'type': 'http.response.body', 'body': body})\n");
  const std::string unit = dir / "uvicorn.service";
  write_file(unit,
             "[Unit]\nDescription=gunicorn with uvicorn workers\nAfter=network.target\n\n"
             "[Service]\nUser=" + user.name() + "\nGroup=" + user.name() +
                 "\nWorkingDirectory=" + project +
                 "\nEnvironment=DJANGO_SETTINGS_MODULE=server.settings\n"
                 "ExecStart=/usr/bin/python3 -m gunicorn server.asgi:application -k "
                 "uvicorn.workers.UvicornWorker --workers 1 --bind 127.0.0.1:" +
                 std::to_string(port) + "\nRestart=always\n\n[Install]\nWantedBy=multi-user.target\n");

  auto imported = run({superd_bin(), "import", unit});
  ASSERT_EQ(imported.exit_code, 0) << imported.err;
  EXPECT_NE(imported.out.find("[service.uvicorn]"), std::string::npos) << imported.out;
  EXPECT_EQ(imported.out.find("not imported"), std::string::npos) << imported.out;

  Superd d(dir, imported.out);
  auto check = run({superd_bin(), "--check", "-c", d.config_path()});
  ASSERT_EQ(check.exit_code, 0) << check.err << "\n" << read_file(d.config_path());

  ASSERT_TRUE(d.start());
  std::string body;
  ASSERT_TRUE(wait_until([&] {
    body = http_get(port, "/");
    return body.find("200 OK") != std::string::npos;
  }, 20s)) << d.daemon_log() << read_file(d.log_dir() + "/uvicorn.log");
  EXPECT_NE(body.find("uid=" + std::to_string(user.uid())), std::string::npos) << body;
  EXPECT_NE(body.find("settings=server.settings"), std::string::npos) << body;
  EXPECT_EQ(d.stop(), 0);
}

}  // namespace
}  // namespace superd::test
