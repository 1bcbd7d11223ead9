/**
 * The `samsa` executable. `samsa start` runs the broker.
 *
 * @module
 */
if (import.meta.main) {
  const [command = "start"] = Deno.args;
  if (command === "start") {
    console.error("samsa: the broker is not built yet (the single-node broker issue adds it)");
    Deno.exit(1);
  }
  console.error(`samsa: unknown command '${command}'. Commands: start`);
  Deno.exit(2);
}
