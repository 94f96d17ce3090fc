package dev.baton.spring.autoconfigure;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.springframework.aot.generate.ClassNameGenerator;
import org.springframework.aot.generate.DefaultGenerationContext;
import org.springframework.aot.generate.InMemoryGeneratedFiles;
import org.springframework.context.annotation.AnnotationConfigUtils;
import org.springframework.context.aot.ApplicationContextAotGenerator;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.javapoet.ClassName;
import org.springframework.mock.env.MockEnvironment;

/**
 * Ahead-of-time processing (what {@code spring-boot:process-aot} runs) of an application with
 * {@code baton.elections.*}: the named election beans must be describable as code.
 */
class AotProcessingTests {
    @Test
    void namedElectionsSurviveAotProcessing() {
        GenericApplicationContext context = new GenericApplicationContext();
        context.setEnvironment(new MockEnvironment().withProperty("baton.store", "memory://aot")
            .withProperty("spring.application.name", "aot-app")
            .withProperty("baton.elections.nightly-report.ttl", "30s"));
        AnnotationConfigUtils.registerAnnotationConfigProcessors(context);
        context.registerBean(BatonAutoConfiguration.class);
        InMemoryGeneratedFiles files = new InMemoryGeneratedFiles();
        DefaultGenerationContext generation = new DefaultGenerationContext(
            new ClassNameGenerator(ClassName.get("com.example", "AotApp")), files);
        new ApplicationContextAotGenerator().processAheadOfTime(context, generation);
        generation.writeGeneratedContent();
        assertThat(context.getBeanFactory().getBeanDefinition("leaderElection-nightly-report")).isNotNull();
        assertThat(files.getGeneratedFiles(org.springframework.aot.generate.GeneratedFiles.Kind.SOURCE)).isNotEmpty();
    }
}
