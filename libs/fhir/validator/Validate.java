/*
 * Validates FHIR R4 resources with the HAPI FHIR instance validator, offline.
 *
 * Usage: java -cp '<jars>/*' Validate.java < resources.ndjson > outcomes.ndjson
 * Reads one resource per line (JSON) and writes, for each, one line: an OperationOutcome with every issue the
 * validator found (none: an empty issue list), in the same order. The definitions come from the R4 core package
 * inside hapi-fhir-validation-resources-r4; no terminology server is used, so codes from external code systems
 * (LOINC, SNOMED CT, RxNorm) are checked only for their form, never looked up.
 */
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.parser.IParser;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;
import org.hl7.fhir.r4.model.OperationOutcome;

public class Validate {
    public static void main(String[] args) throws Exception {
        FhirContext context = FhirContext.forR4();
        ValidationSupportChain support = new ValidationSupportChain(
                new DefaultProfileValidationSupport(context),
                new CommonCodeSystemsTerminologyService(context),
                new InMemoryTerminologyServerValidationSupport(context),
                new SnapshotGeneratingValidationSupport(context));
        FhirInstanceValidator instanceValidator = new FhirInstanceValidator(support);
        FhirValidator validator = context.newValidator().registerValidatorModule(instanceValidator);
        IParser json = context.newJsonParser();
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        for (String line = in.readLine(); line != null; line = in.readLine()) {
            if (line.isBlank()) {
                continue;
            }
            OperationOutcome outcome = new OperationOutcome();
            ValidationResult result = validator.validateWithResult(line);
            for (SingleValidationMessage message : result.getMessages()) {
                outcome.addIssue()
                        .setSeverity(severity(message.getSeverity()))
                        .setCode(OperationOutcome.IssueType.PROCESSING)
                        .setDiagnostics(message.getMessage())
                        .addExpression(message.getLocationString() == null ? "" : message.getLocationString());
            }
            out.println(json.encodeResourceToString(outcome));
        }
    }

    private static OperationOutcome.IssueSeverity severity(ResultSeverityEnum severity) {
        switch (severity) {
            case FATAL: return OperationOutcome.IssueSeverity.FATAL;
            case ERROR: return OperationOutcome.IssueSeverity.ERROR;
            case WARNING: return OperationOutcome.IssueSeverity.WARNING;
            default: return OperationOutcome.IssueSeverity.INFORMATION;
        }
    }
}
