// A hearth subscriber in Node.js: read registered topics as a registered subscriber and check every event.
//
//   npm ci
//   eval "$(hearth subscribers credentials <name>)"        # or the lines the operator gave you
//   node subscriber.js screening.approved.v1 session.session-completed.v1
//
// Settings come from the environment, as `hearth subscribers add|credentials` print them (HEARTH_KAFKA_BOOTSTRAP,
// HEARTH_KAFKA_USERNAME, HEARTH_KAFKA_PASSWORD, HEARTH_KAFKA_CA_FILE, HEARTH_TOPIC_PREFIX, HEARTH_GROUP_ID).
// Each record is read with the CloudEvents SDK (structured mode: the value is the whole event as JSON) and checked:
// a valid CloudEvent, its type belongs to its topic, its subject is the record key, its dataschema names the
// topic's schema (and a minor), its id was not seen before (a re-delivery is skipped, never applied twice). One
// JSON line per new event on stdout; an offset is committed once its record is handled. With HEARTH_IDLE_SECONDS
// set it stops after that long without a record (once one came), and exits 1 if any record failed a check.
"use strict";

const fs = require("node:fs");
const { Kafka: KafkaClient, logLevel } = require("kafkajs");
const { Kafka } = require("cloudevents");

const SCHEMAS = "https://schemas.hearth.internal/events/";
const env = process.env;
const prefix = env.HEARTH_TOPIC_PREFIX || "";

/** Why a record is not a valid event of its topic, or null. */
function check(topic, key, event) {
  const owner = topic.split(".")[0]; // <owner>.<event>.v<major>
  if (event.type !== `org.hearth.${topic}`) return `type ${event.type} on topic ${topic}`;
  if (event.source !== `/hearth/${owner}`) return `source ${event.source}`;
  if (event.subject !== key) return "subject is not the record key";
  if (!new RegExp(`^${SCHEMAS.replace(/\./g, "\\.")}${topic.replace(/\./g, "\\.")}\\.json(\\?minor=[0-9]+)?$`).test(event.dataschema))
    return `dataschema ${event.dataschema}`;
  if (typeof event.data !== "object" || event.data === null) return "data is not a JSON object";
  return null;
}

async function main(topics) {
  const kafka = new KafkaClient({
    clientId: env.HEARTH_KAFKA_USERNAME,
    brokers: env.HEARTH_KAFKA_BOOTSTRAP.split(","),
    ssl: env.HEARTH_KAFKA_CA_FILE ? { ca: [fs.readFileSync(env.HEARTH_KAFKA_CA_FILE, "utf8")] } : true,
    sasl: { mechanism: "scram-sha-512", username: env.HEARTH_KAFKA_USERNAME, password: env.HEARTH_KAFKA_PASSWORD },
    logLevel: logLevel.ERROR,
  });
  // Inside your group prefix, <prefix><name>.<anything>; commit only after the event is handled.
  const consumer = kafka.consumer({ groupId: env.HEARTH_GROUP_ID });
  const seen = new Set();
  let problems = 0;
  let last = Date.now();
  await consumer.connect();
  await consumer.subscribe({ topics: topics.map((t) => prefix + t), fromBeginning: true });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ topic, partition, message }) => {
      last = Date.now();
      const headers = Object.fromEntries(Object.entries(message.headers || {}).map(([k, v]) => [k, String(v)]));
      const key = message.key ? message.key.toString() : "";
      let problem;
      let event;
      try {
        event = Kafka.toEvent({ headers, key, value: message.value.toString() });
        event.validate(); // CloudEvents 1.0 attributes
        problem = check(topic.slice(prefix.length), key, event);
      } catch (error) {
        problem = `not a valid CloudEvent: ${error.message}`;
      }
      if (problem) {
        problems += 1; // a real subscriber parks the record in its own dead-letter store
        console.error(`${topic}[${partition}]@${message.offset}: ${problem}`);
      } else if (!seen.has(event.id)) {
        seen.add(event.id);
        const minor = /\?minor=([0-9]+)$/.exec(event.dataschema);
        console.log(JSON.stringify({ id: event.id, type: event.type, subject: event.subject, minor: minor ? Number(minor[1]) : 0 }));
      }
      await consumer.commitOffsets([{ topic, partition, offset: (BigInt(message.offset) + 1n).toString() }]);
    },
  });
  const idle = Number(env.HEARTH_IDLE_SECONDS || 0);
  if (idle > 0) {
    // Idle time counts from the first record on (joining the group takes a moment); 30 s at most before it.
    const quiet = () => (seen.size === 0 && problems === 0 ? 30 : idle) * 1000;
    while (Date.now() - last < quiet()) await new Promise((resolve) => setTimeout(resolve, 500));
    await consumer.disconnect();
    console.error(`${seen.size} event(s), ${problems} problem(s)`);
    process.exit(problems === 0 ? 0 : 1);
  }
}

main(process.argv.slice(2)).catch((error) => {
  console.error(`subscriber failed: ${error.message}`);
  process.exit(2);
});
