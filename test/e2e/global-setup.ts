// Deploys the packaged stack into LocalStack once per end-to-end run (LocalStack itself is started by
// infra/local/with-localstack.sh, which the test command wraps around Jest).
import { deployLocal } from '../../infra/local/deploy';

export default async function globalSetup(): Promise<void> {
  await deployLocal();
}
