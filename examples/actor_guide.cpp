// The actor walk-through of docs/actors.md, as a program that builds and runs
// under ctest (`actor_guide`): docs/actors.md quotes this file verbatim.
//
// Run: mpirun --oversubscribe -n 3 ./build/examples/actor_guide
#include <raympi/raympi.hpp>

#include <iostream>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

// An actor is an ordinary class; its state never leaves its node.
class Account {
 public:
  explicit Account(double opening) : balance_(opening) {}
  double deposit(double amount) {
    if (amount <= 0) throw std::invalid_argument("deposit must be positive");
    return balance_ += amount;
  }
  double balance() const { return balance_; }  // const methods are fine
  void reset() { balance_ = 0; }              // void methods give ObjectRef<void>

 private:
  double balance_;
};

// A factory builds the actor on its node: std::unique_ptr<A> or A*.
std::unique_ptr<Account> open_account(double opening) { return std::make_unique<Account>(opening); }

// Tasks (and other actors) take handles like any other argument.
double pay_in(raympi::ActorHandle<Account> account, int times) {
  std::vector<raympi::ObjectRef<double>> receipts;
  for (int i = 0; i < times; ++i) receipts.push_back(account.task(&Account::deposit).remote(1.0));
  return raympi::get(receipts).back();
}

RAYMPI_REMOTE(open_account, &Account::deposit, &Account::balance, &Account::reset, pay_in);

int main(int argc, char** argv) {
  raympi::init(argc, argv);
  int failures = 0;
  auto check = [&](bool ok, const std::string& what) {
    std::cout << (ok ? "PASS: " : "FAIL: ") << what << "\n";
    failures += !ok;
  };

  // Create: placed like a task (1 CPU to place it, none held), built on its node.
  raympi::ActorHandle<Account> acct = raympi::actor(open_account).name("main-account").max_restarts(1).remote(100.0);

  // Call: a method call returns an ObjectRef; calls from one caller run in order.
  raympi::ObjectRef<double> after = acct.task(&Account::deposit).remote(50.0);
  check(raympi::get(after) == 150.0, "deposit 50 -> 150");

  // Pass the handle: four tasks pay in at once; the actor runs one call at a time.
  std::vector<raympi::ObjectRef<double>> payers;
  for (int i = 0; i < 4; ++i) payers.push_back(raympi::task(pay_in).remote(acct, 25));
  raympi::get(payers);
  check(raympi::get(acct.task(&Account::balance).remote()) == 250.0, "4 tasks x 25 deposits -> 250");

  // A throwing method fails that call only.
  try {
    raympi::get(acct.task(&Account::deposit).remote(-1.0));
    check(false, "negative deposit throws");
  } catch (const raympi::TaskError& e) {
    check(std::string(e.what()).find("deposit must be positive") != std::string::npos, "TaskError names the cause");
  }

  // Find a named actor from anywhere (here: the driver; tasks work the same way).
  std::optional<raympi::ActorHandle<Account>> same = raympi::get_actor<Account>("main-account");
  check(same && raympi::get(same->task(&Account::balance).remote()) == 250.0, "get_actor finds it by name");

  // kill(false) counts as a crash: rebuilt from its factory arguments (max_restarts(1)).
  acct.kill(/*no_restart=*/false);
  check(raympi::get(acct.task(&Account::balance).remote()) == 100.0, "restarted from open_account(100)");

  // kill() is final: calls fail with ActorDiedError and the name is free again.
  acct.kill();
  try {
    raympi::get(acct.task(&Account::balance).remote());
    check(false, "calls after kill() fail");
  } catch (const raympi::ActorDiedError&) {
    check(true, "calls after kill() fail with ActorDiedError");
  }
  check(!raympi::get_actor<Account>("main-account"), "the name is released");

  raympi::shutdown();
  return failures == 0 ? 0 : 1;
}
