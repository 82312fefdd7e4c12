// A hearth subscriber in Java: read registered topics as a registered subscriber and check every event.
//
//   mvn -q -B dependency:copy-dependencies -DoutputDirectory=lib
//   eval "$(hearth subscribers credentials <name>)"        # or the lines the operator gave you
//   java -cp 'lib/*' Subscriber.java screening.approved.v1 session.session-completed.v1
//
// Settings come from the environment, as `hearth subscribers add|credentials` print them (HEARTH_KAFKA_BOOTSTRAP,
// HEARTH_KAFKA_USERNAME, HEARTH_KAFKA_PASSWORD, HEARTH_KAFKA_CA_FILE, HEARTH_TOPIC_PREFIX, HEARTH_GROUP_ID).
// Each record is read with the CloudEvents SDK (structured mode: the value is the whole event as JSON) and checked:
// its type belongs to its topic, its subject is the record key and its partitionkey, its dataschema names the
// topic's schema (and a minor), its id was not seen before (a re-delivery is skipped, never applied twice). One
// JSON line per new event on stdout; offsets are committed after each batch is handled. With HEARTH_IDLE_SECONDS
// set it stops after that long without a record (once one came), and exits 1 if any record failed a check.

import io.cloudevents.CloudEvent;
import io.cloudevents.kafka.CloudEventDeserializer;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Properties;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.ConsumerRecords;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;

public class Subscriber {
    static final String SCHEMAS = "https://schemas.hearth.internal/events/";
    static final Pattern MINOR = Pattern.compile("\\.json(\\?minor=([0-9]+))?$");

    public static void main(String[] args) {
        String prefix = System.getenv().getOrDefault("HEARTH_TOPIC_PREFIX", "");
        String idle = System.getenv("HEARTH_IDLE_SECONDS");
        Properties config = new Properties();
        config.put("bootstrap.servers", System.getenv("HEARTH_KAFKA_BOOTSTRAP"));
        config.put("security.protocol", System.getenv().getOrDefault("HEARTH_KAFKA_SECURITY_PROTOCOL", "SASL_SSL"));
        config.put("sasl.mechanism", System.getenv().getOrDefault("HEARTH_KAFKA_SASL_MECHANISM", "SCRAM-SHA-512"));
        config.put("sasl.jaas.config", "org.apache.kafka.common.security.scram.ScramLoginModule required username=\""
                + System.getenv("HEARTH_KAFKA_USERNAME") + "\" password=\"" + System.getenv("HEARTH_KAFKA_PASSWORD") + "\";");
        if (System.getenv("HEARTH_KAFKA_CA_FILE") != null) {
            config.put("ssl.truststore.type", "PEM");  // the broker's CA as a PEM file; the host name is verified
            config.put("ssl.truststore.location", System.getenv("HEARTH_KAFKA_CA_FILE"));
        }
        config.put("group.id", System.getenv("HEARTH_GROUP_ID"));  // inside your prefix: <prefix><name>.<anything>
        config.put("enable.auto.commit", "false");  // commit only after the events are handled
        config.put("auto.offset.reset", "earliest");  // a new group starts from the oldest event kept
        List<String> topics = java.util.Arrays.stream(args).map(t -> prefix + t).toList();

        Set<String> seen = new HashSet<>();
        int problems = 0;
        long quietMs = 0;
        try (KafkaConsumer<String, CloudEvent> consumer =
                new KafkaConsumer<>(config, new StringDeserializer(), new CloudEventDeserializer())) {
            consumer.subscribe(topics);
            // Idle time counts from the first record on (joining the group takes a moment); 30 s at most before it.
            while (idle == null || quietMs < (seen.isEmpty() && problems == 0 ? 30_000 : Long.parseLong(idle) * 1000)) {
                ConsumerRecords<String, CloudEvent> records = consumer.poll(Duration.ofSeconds(1));
                quietMs = records.isEmpty() ? quietMs + 1000 : 0;
                for (ConsumerRecord<String, CloudEvent> record : records) {
                    String problem = check(record, prefix);
                    if (problem != null) {
                        problems++;  // a real subscriber parks the record in its own dead-letter store
                        System.err.printf("%s[%d]@%d: %s%n", record.topic(), record.partition(), record.offset(), problem);
                    } else if (seen.add(record.value().getId())) {
                        Matcher minor = MINOR.matcher(record.value().getDataSchema().toString());
                        minor.find();
                        System.out.printf("{\"id\": \"%s\", \"type\": \"%s\", \"subject\": \"%s\", \"minor\": %s}%n",
                                record.value().getId(), record.value().getType(), record.value().getSubject(),
                                minor.group(2) == null ? "0" : minor.group(2));
                    }
                }
                consumer.commitSync();
            }
        }
        System.err.printf("%d event(s), %d problem(s)%n", seen.size(), problems);
        System.exit(problems == 0 ? 0 : 1);
    }

    /** Why a record is not a valid event of its topic, or null. */
    static String check(ConsumerRecord<String, CloudEvent> record, String prefix) {
        CloudEvent event = record.value();
        if (event == null) return "not a CloudEvent";
        String topic = record.topic().substring(prefix.length());
        String[] parts = topic.split("\\.");  // <owner>.<event>.v<major>
        if (!event.getType().equals("org.hearth." + topic)) return "type " + event.getType() + " on topic " + topic;
        if (!event.getSource().toString().equals("/hearth/" + parts[0])) return "source " + event.getSource();
        if (!event.getSubject().equals(record.key())) return "subject is not the record key";
        if (!event.getSubject().equals(event.getExtension("partitionkey"))) return "partitionkey is not the subject";
        String schema = event.getDataSchema() == null ? "" : event.getDataSchema().toString();
        if (!schema.startsWith(SCHEMAS + topic + ".json") || !MINOR.matcher(schema).find()) return "dataschema " + schema;
        try {
            UUID.fromString(event.getId());
        } catch (IllegalArgumentException e) {
            return "id is not a UUID";
        }
        if (event.getData() == null || event.getData().toBytes()[0] != '{') return "data is not a JSON object";
        return null;
    }
}
